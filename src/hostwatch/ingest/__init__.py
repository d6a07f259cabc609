"""Intake: notice files in many formats to canonical URLs and notices in the database.

Entry points: :func:`hostwatch.ingest.pipeline.ingest_file` (one file into the database),
:func:`hostwatch.ingest.canonical.canonicalize` (one URL), :func:`hostwatch.ingest.export.
export_notices` (all notices out again, IntelMQ field names).
"""
