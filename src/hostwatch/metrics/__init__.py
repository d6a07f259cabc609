"""Measurements derived from the records: takedown time with censoring, exposure,
concentration, size-normalised ranking, trends and displacement.

Every function here takes the analysis frame (:mod:`hostwatch.metrics.frame`), one row per case
episode, so the same numbers come out whether the frame was read from SQLite, PostgreSQL, an
imported feed history or a simulation.
"""
