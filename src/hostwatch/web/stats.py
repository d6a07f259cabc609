"""Per-provider takedown figures for the portal, the API and the dossier.

Nothing is computed here: the figures are rows of :func:`hostwatch.metrics.takedown.takedown_table`
by provider (the one definition, the same numbers as ``hostwatch metrics takedown --by provider``
and the report), over every episode up to ``now``, kept to the provider records ``where``
selects and given each provider's id for links.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from hostwatch.metrics.frame import build_frame
from hostwatch.metrics.period import period_between
from hostwatch.metrics.takedown import takedown_table
from hostwatch.model import Provider


def episodes_until(session: Session, now: datetime, *, offline_after: int) -> pl.DataFrame:
    """Every episode up to ``now`` (the metrics frame), read through the session."""
    return build_frame(session.connection(), period_between(None, now), offline_after=offline_after)


def provider_figures(
    session: Session,
    now: datetime,
    *,
    offline_after: int,
    where: ColumnElement[bool] | None = None,
    frame: pl.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Figures of every provider matching ``where`` that has episodes, largest first
    (``frame``: the episodes already read by :func:`episodes_until`)."""
    rows = session.execute(
        select(Provider.name, Provider.id).where(where if where is not None else true())
    )
    ids = {name: pid for name, pid in rows}
    if frame is None:
        frame = episodes_until(session, now, offline_after=offline_after)
    frame = frame.filter(pl.col("provider").is_in(list(ids)))
    return [
        {"provider_id": ids[row["group"]], "provider": row.pop("group"), **row}
        for row in takedown_table(frame, "provider").to_dicts()
    ]
