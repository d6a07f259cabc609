"""The executive summary: the figures said in sentences, in the report's language.

Every sentence is generated from the context the tables are drawn from, so the prose and the
tables cannot disagree: the headline with its interval, the change since the previous period,
the provider that improved most and the one that fell back most (both only among providers
named in this edition with enough cases in both periods), who is worst after size
normalisation, and how concentrated the material is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hostwatch.metrics.frame import UNATTRIBUTED

if TYPE_CHECKING:
    from hostwatch.report.build import Report


def _headline(context: dict[str, Any], report: Report) -> str:
    s, fmt, _ = context["summary"], report.fmt, report._
    return _(
        "In %(period)s the monitor followed %(n)s reported cases. %(share)s of them were seen "
        "offline within 24 hours of the notice to the provider (95%% interval %(ci)s); the "
        "median time online was %(median)s, and %(censored)s were still online at the end of "
        "the period."
    ) % {
        "period": report.options.period_label,
        "n": fmt.num(s["n"]),
        "share": fmt.pct(s["removed_within_24h"]),
        "ci": fmt.pct_range(s["ci24_low"], s["ci24_high"]),
        "median": fmt.quantile(s, "median"),
        "censored": fmt.num(s["censored"]),
    }


def _change(context: dict[str, Any], report: Report) -> list[str]:
    previous, fmt, _ = context["previous"], report.fmt, report._
    if previous is None:
        return [_("There is no previous period in the data to compare with.")]
    now = context["summary"]["removed_within_24h"]
    before = previous["summary"]["removed_within_24h"]
    if now is None or before is None:
        return [_("The previous period has no share to compare with.")]
    points = 100 * (now - before)
    label = previous["label"] or _("the previous period")
    if abs(points) < 0.05:
        sentences = [
            _("The share removed within 24 hours is the same as in %(label)s (%(before)s).")
            % {"label": label, "before": fmt.pct(before)}
        ]
    else:
        template = (
            _("That is %(points)s percentage points more than in %(label)s (%(before)s).")
            if points > 0
            else _("That is %(points)s percentage points less than in %(label)s (%(before)s).")
        )
        sentences = [
            template
            % {"points": fmt.num(abs(points), 1), "label": label, "before": fmt.pct(before)}
        ]
    current = {r["group"]: r for r in context["providers"]}
    both = [
        (name, current[name], old)
        for name, old in previous["providers"].items()
        if name in current
        and name in report.named
        and name != UNATTRIBUTED
        and (current[name]["n"] or 0) >= report.options.min_cases
        and current[name]["removed_within_24h"] is not None
        and old["removed_within_24h"] is not None
    ]
    if not both:
        sentences.append(
            _("No named provider had %(min)s or more cases in both periods, so none is compared.")
            % {"min": report.options.min_cases}
        )
        return sentences
    both.sort(key=lambda t: t[1]["removed_within_24h"] - t[2]["removed_within_24h"])
    worse, better = both[0], both[-1]
    if better[1]["removed_within_24h"] > better[2]["removed_within_24h"]:
        sentences.append(
            _("%(name)s improved most: from %(before)s to %(now)s removed within 24 hours.")
            % {
                "name": better[0],
                "before": fmt.pct(better[2]["removed_within_24h"]),
                "now": fmt.pct(better[1]["removed_within_24h"]),
            }
        )
    if worse[1]["removed_within_24h"] < worse[2]["removed_within_24h"]:
        sentences.append(
            _("%(name)s fell back most: from %(before)s to %(now)s.")
            % {
                "name": worse[0],
                "before": fmt.pct(worse[2]["removed_within_24h"]),
                "now": fmt.pct(worse[1]["removed_within_24h"]),
            }
        )
    return sentences


def _size(context: dict[str, Any], report: Report) -> str:
    size, fmt, _ = context["size"], report.fmt, report._
    if size is None:
        return _("No provider sizes were available, so no ranking after size normalisation.")
    if "error" in size:
        return _(
            "The size comparison could not be made: %(reason)s. The section on size shows the "
            "raw rates instead."
        ) % {"reason": size["error"]}
    if size["flagged_high"]:
        top = size["flagged_high"][0]
        return _(
            "Relative to its size, %(name)s stands out most: %(observed)s reported URLs where "
            "about %(expected)s were expected (%(ratio)s times as many; 95%% interval %(low)s "
            "to %(high)s)."
        ) % {
            "name": top["provider"],
            "observed": fmt.num(top["observed"]),
            "expected": fmt.num(top["expected"], 1),
            "ratio": fmt.num(top["ratio"], 1),
            "low": fmt.num(top["ratio_low"], 1),
            "high": fmt.num(top["ratio_high"], 1),
        }
    if size["flagged_high_unnamed"]:
        return _(
            "After size normalisation %(n)s providers host more than their size predicts, but "
            "each has fewer than %(min)s cases and is not named in this edition."
        ) % {"n": fmt.num(size["flagged_high_unnamed"]), "min": report.options.min_cases}
    return _("After size normalisation no provider hosts clearly more than its size predicts.")


def _concentration(context: dict[str, Any], report: Report) -> str:
    c, fmt, _ = context["concentration"], report.fmt, report._
    if c["parties"] <= 1:
        return _("All attributed material was at a single provider.")
    return _(
        "The material is concentrated: of %(n)s providers the largest holds %(top1)s of the "
        "reported URLs (Gini coefficient %(gini)s)."
    ) % {
        "n": fmt.num(c["parties"]),
        "top1": fmt.pct(c["top1_share"]),
        "gini": fmt.num(c["gini"], 2),
    }


def executive_summary(context: dict[str, Any], report: Report) -> list[str]:
    """Paragraphs of plain text (the template escapes them)."""
    return [
        " ".join([_headline(context, report), *_change(context, report)]),
        " ".join([_size(context, report), _concentration(context, report)]),
    ]
