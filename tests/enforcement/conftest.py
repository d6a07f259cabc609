"""The enforcement tests run the real workflow against the loopback servers of the NTD tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "takedown" / "workflow"))

from ntd_servers import smtp, web, wf_settings

__all__ = ["smtp", "web", "wf_settings"]
