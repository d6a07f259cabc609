"""Numbers, shares, durations and dates as a reader of the report's language writes them.

Babel formats for the locale (``1,234.5`` in English, ``1.234,5`` in Dutch); a number and its
unit are joined by a no-break space so neither the browser nor the PDF splits them across lines.
Durations are in hours up to :data:`DAYS_FROM_HOURS` and in days after it: nobody reads
"6,986.0 h" as the 291 days it is.
"""

from __future__ import annotations

import gettext
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

from hostwatch.metrics.bounds import IDENTIFIED, NOT_IDENTIFIED

NBSP = "\u00a0"
DASH = "–"
DAYS_FROM_HOURS = 72.0


_LOOSE_UNIT = re.compile(r"(?<=\d) (?=(?:h|d|%|days|dagen|UTC)\b)")


def glue_units(text: str) -> str:
    """Every number followed by a unit in fixed wording ("the 24 h norm") gets a no-break space,
    like the numbers the formatter writes, so no line or page ends between them."""
    return _LOOSE_UNIT.sub(NBSP, text)


@dataclass(frozen=True)
class Formatter:
    """Every formatting rule of the report for one language; the templates call these only."""

    lang: str
    catalogue: gettext.NullTranslations

    def _(self, message: str) -> str:
        return self.catalogue.gettext(message)

    def num(self, value: float | None, digits: int = 0) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return DASH
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.lang)

    def pct(self, value: float | None, digits: int = 1) -> str:
        if value is None or not math.isfinite(value):
            return DASH
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(value, format=pattern, locale=self.lang).replace(" ", NBSP)

    def pct_range(self, low: float | None, high: float | None) -> str:
        """``55.1–69.3%``; a single share when both ends format the same."""
        if low is None or high is None:
            return DASH
        if self.pct(low) == self.pct(high):
            return self.pct(low)
        return f"{self.num(100 * low, 1)}{DASH}{self.pct(high)}"

    def share_upto(self, seen: float | None, upper: float | None) -> str:
        """The share seen offline, with the share possibly removed only where it differs."""
        text = self.pct(seen)
        if upper is not None and self.pct(upper) != text:
            return text + " " + self._("(up to %(share)s)") % {"share": self.pct(upper)}
        return text

    def hours(self, value: float | None) -> str:
        """A duration: ``5.3 h`` up to 72 h, ``291 days`` (``4.5 days`` under ten) after it."""
        if value is None or not math.isfinite(value):
            return DASH
        if value <= DAYS_FROM_HOURS:
            return f"{self.num(value, 1)}{NBSP}h"
        days = value / 24.0
        shown = self.num(days, 1 if days < 10 else 0)
        unit = self._("days")
        return f"{shown}{NBSP}{unit}"

    def quantile(self, row: dict[str, Any], name: str) -> str:
        """A median or percentile as a time, or its bounds where the records do not fix it."""
        status = row.get(f"{name}_status")
        if status == IDENTIFIED:
            return self.hours(row[f"{name}_hours"])
        if status == NOT_IDENTIFIED:
            high = row[f"{name}_upper_hours"]
            upper = self._("not reached") if high is None else self.hours(high)
            return self._("not identified (%(low)s – %(high)s)") % {
                "low": self.hours(row[f"{name}_lower_hours"]),
                "high": upper,
            }
        return self._("not reached") if status else DASH

    def when(self, value: datetime | None) -> str:
        if value is None:
            return DASH
        return format_datetime(value, "d MMM y, HH:mm", tzinfo=value.tzinfo, locale=self.lang)

    def day(self, value: datetime | None) -> str:
        if value is None:
            return DASH
        return format_datetime(value, "d MMMM y", tzinfo=value.tzinfo, locale=self.lang)

    def filters(self) -> dict[str, Any]:
        return {
            "num": self.num,
            "pct": self.pct,
            "pct_range": self.pct_range,
            "hours": self.hours,
            "when": self.when,
            "day": self.day,
            "fixed": lambda v, d=2: self.num(v, d),
        }
