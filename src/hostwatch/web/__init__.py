"""The service: the API (/api/v1), the provider feed, the portal, access control and operations.

The web layer is thin: it authenticates, decides who may learn what through
:mod:`hostwatch.web.disclosure`, calls the library below and renders JSON, CSV, Atom, HTML or PDF.
"""
