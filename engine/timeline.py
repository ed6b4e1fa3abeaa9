"""Dates: the `from`/`to` range filter and the articles-per-month timeline.

Both read the date column the facet index loads once per generation
(`FacetIndex.dates`, ISO strings, empty when an article states no date), so
a range is one vectorised string comparison and a timeline one `np.unique`.
Undated articles are never silently dropped: they match no date range, and
are counted apart (`undated`) so the page can say "Không rõ ngày: N".
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

#: A date bound as the contract writes it: `YYYY-MM-DD`.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Longest run of months a timeline fills with zero buckets (beyond it, only months with articles).
MAX_FILLED_MONTHS = 600
#: The `year` facet value that selects the articles with no date.
UNDATED = "none"


def parse_date(value: object) -> str | None:
    """`YYYY-MM-DD` if `value` is a real calendar date written so, else None."""
    text = str(value or "").strip()
    if not _ISO_DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def date_range(date_from: object, date_to: object) -> tuple[str | None, str | None]:
    """Both bounds checked, in order (a reversed range is read the way round it makes sense)."""
    low, high = parse_date(date_from), parse_date(date_to)
    if low and high and low > high:
        low, high = high, low
    return low, high


def range_mask(dates: np.ndarray, date_from: str | None, date_to: str | None
               ) -> np.ndarray | None:
    """Documents whose date lies in [from, to], both inclusive (None: no date bound).

    A date known only to the month or year (`2022-10`) counts as its first
    day for `from` and is inside any `to` of that month or year.
    """
    if not date_from and not date_to:
        return None
    dated = np.char.str_len(dates) > 0
    mask = dated.copy()
    if date_from:
        mask &= dates >= date_from[: 10]
        # `2022-10` sorts before `2022-10-05` yet lies in that month: kept
        partial = dated & (np.char.str_len(dates) < 10)
        if partial.any():
            mask |= partial & _prefix_of(dates, date_from)
    if date_to:
        mask &= dates <= date_to
    return mask


def _prefix_of(dates: np.ndarray, bound: str) -> np.ndarray:
    """Whether each (partial) date is a prefix of `bound` (the same month or year)."""
    return np.asarray([bool(d) and bound.startswith(d) for d in dates.tolist()], dtype=bool)


def undated_mask(dates: np.ndarray) -> np.ndarray:
    """Documents that state no date."""
    return np.char.str_len(dates) == 0


def months(dates: np.ndarray, matched: np.ndarray) -> list[dict]:
    """`[{"month": "2022-10", "count": 3}, …]` for the matched documents, oldest first.

    Months between the first and the last with no article are listed with 0,
    so a chart's bars stand at their real place in time.
    """
    if not len(dates):
        return []
    picked = dates[matched[: len(dates)]]
    picked = picked[np.char.str_len(picked) >= 7]
    if not len(picked):
        return []
    values, counts = np.unique(picked.astype("U7"), return_counts=True)
    found = {str(v): int(c) for v, c in zip(values, counts, strict=True)}
    first, last = _month_number(min(found)), _month_number(max(found))
    if last - first >= MAX_FILLED_MONTHS:
        return [{"month": m, "count": found[m]} for m in sorted(found)]
    out = []
    for n in range(first, last + 1):
        name = f"{n // 12:04d}-{n % 12 + 1:02d}"
        out.append({"month": name, "count": found.get(name, 0)})
    return out


def _month_number(month: str) -> int:
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def month_bounds(month: str) -> tuple[str, str]:
    """The first and last day of `YYYY-MM` (what a click on a timeline bar selects)."""
    year, mon = (int(p) for p in month.split("-"))
    start = dt.date(year, mon, 1)
    end = (dt.date(year + (mon == 12), mon % 12 + 1, 1) - dt.timedelta(days=1))
    return start.isoformat(), end.isoformat()
