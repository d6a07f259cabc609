"""The period and provider sizes that ``hostwatch metrics`` and ``hostwatch report`` both read.

Both commands take ``--period`` and ``--sizes`` and must resolve them the same way (sizes as of
the period's end, or now if that is earlier), with a bad value reported as a usage error.
"""

from __future__ import annotations

from pathlib import Path

import typer

from hostwatch.metrics.period import Period
from hostwatch.settings import Settings


def period_and_sizes(
    settings: Settings, period: str | None, sizes: Path | None
) -> tuple[Period, dict[str, dict[str, float]] | None]:
    from hostwatch.metrics.address_space import size_denominators
    from hostwatch.metrics.period import parse_period, period_between

    try:
        chosen = parse_period(period) if period else period_between(None, None)
        at = min(chosen.end, settings.clock().now())
        return chosen, size_denominators(settings.database_url, sizes, at)
    except (ValueError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from exc
