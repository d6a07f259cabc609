"""Fixtures of the workflow tests; the servers themselves live in ``ntd_servers``."""

from ntd_servers import smtp, web, wf_settings

__all__ = ["smtp", "web", "wf_settings"]
