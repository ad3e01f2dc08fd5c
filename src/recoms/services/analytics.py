"""Does it work? Per data source and variant: lists served, impressions, clicks, credited orders and
revenue, totals and by day, with the experiment's statistics; and the shop's share of revenue that came
from recommendations. Days are UTC.

Credit is computed when asked (domain/attribution.py), over every data source at once: a purchase goes to
the last click (else impression) before it, whichever list showed it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from recoms.domain import attribution, experiments, variants
from recoms.domain.attribution import DAY_MS, Credit, Purchase
from recoms.domain.datasource import DataSource
from recoms.errors import Invalid
from recoms.services.platform import Platform
from recoms.store import analytics as store
from recoms.store import recommendation_log

DEFAULT_DAYS = 28
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    first_day: int  # days since the epoch, UTC
    last_day: int

    @property
    def start(self) -> int:
        return self.first_day * DAY_MS

    @property
    def end(self) -> int:
        return (self.last_day + 1) * DAY_MS

    @property
    def days(self) -> range:
        return range(self.first_day, self.last_day + 1)

    def to_json(self) -> dict[str, str]:
        return {"from": iso(self.first_day), "to": iso(self.last_day)}


def iso(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


def _day(value: str, name: str) -> int:
    try:
        return (dt.date.fromisoformat(value) - dt.date(1970, 1, 1)).days
    except (TypeError, ValueError):
        raise Invalid(f"{name} must be a date like 2026-01-31", [{"field": name, "reason": "not a date"}]) from None


def period(start: str | None, end: str | None, today: int | None = None) -> Period:
    """`from`..`to` (inclusive dates); by default the 28 days ending today."""
    today = today if today is not None else int(time.time() * 1000) // DAY_MS
    last = _day(end, "to") if end else today
    first = _day(start, "from") if start else last - DEFAULT_DAYS + 1
    if first > last:
        raise Invalid("from is after to", [{"field": "from", "reason": "after to"}])
    if last - first + 1 > MAX_DAYS:
        raise Invalid(f"at most {MAX_DAYS} days at once", [{"field": "from", "reason": "too long a period"}])
    return Period(first, last)


def _credits(conn: sa.Connection, account_id: int, span: Period, window_ms: int) -> tuple[list[Credit], float]:
    """Every purchase line of the period credited to its list, and the period's whole revenue."""
    lines = store.purchases(conn, account_id, span.start, span.end)
    known = [line for line in lines if isinstance(line, Purchase)]
    total = sum(line.revenue if isinstance(line, Purchase) else line[1] for line in lines)
    touches = store.touches(conn, account_id, span.start - window_ms, span.end, {p.product_id for p in known})
    return attribution.credit(sorted(known, key=lambda p: p.ts), touches, window_ms), total


def _rates(impressions: int, clicks: int, orders: int, revenue: float) -> dict[str, Any]:
    return {
        "impressions": impressions, "clicks": clicks, "orders": orders, "revenue": round(revenue, 2),
        "ctr": clicks / impressions if impressions else None,
        "conversion": orders / impressions if impressions else None,
        "revenuePerImpression": revenue / impressions if impressions else None,
    }


def datasource_report(engine: sa.Engine, ds: DataSource, span: Period, window_days: float) -> dict[str, Any]:
    """One data source: totals, each variant with its intervals and tests, and a daily series."""
    window_ms = int(window_days * DAY_MS)
    account_id = ds.account_id
    with engine.connect() as conn:
        counts = store.event_counts(conn, account_id, span.start, span.end, ds.id)
        served = recommendation_log.served_by_day(conn, account_id, ds.id, span.start, span.end)
        credits, _total = _credits(conn, account_id, span, window_ms)
    credits = [c for c in credits if c.touch.datasource_id == ds.id]
    running = {v.id: v for v in variants.arms(ds)}
    arms: dict[int, experiments.ArmCounts] = {
        v.id: experiments.ArmCounts(v.id, v.name, v.share) for v in running.values()}

    def arm(variant_id: int) -> experiments.ArmCounts:
        if variant_id not in arms:  # a variant of an earlier experiment, seen in this period
            arms[variant_id] = experiments.ArmCounts(variant_id, variants.default_name(variant_id), 0.0)
        return arms[variant_id]

    daily: dict[int, dict[str, Any]] = {d: defaultdict(float) for d in span.days}
    for _ds, day, variant_id, kind, n in counts:
        field = "impressions" if kind == attribution.IMPRESSION else "clicks"
        setattr(arm(variant_id), field, getattr(arm(variant_id), field) + n)
        daily[day][field] += n
        daily[day][f"{field}:{variant_id}"] += n
    for day, variant_id, n in served:
        arm(variant_id).served += n
        daily[day]["served"] += n
    per_touch: dict[int, float] = defaultdict(float)
    orders: dict[int, set[str]] = defaultdict(set)
    day_orders: dict[int, set[str]] = defaultdict(set)
    for c in credits:
        a = arm(c.touch.variant_id)
        a.revenue += c.purchase.revenue
        per_touch[c.touch.key] += c.purchase.revenue
        orders[a.variant_id].add(c.purchase.order_number)
        day = attribution.day_of(c.purchase.ts)
        if day in daily:
            daily[day]["revenue"] += c.purchase.revenue
            daily[day][f"revenue:{a.variant_id}"] += c.purchase.revenue
            day_orders[day].add(c.purchase.order_number)
    touch_variant = {c.touch.key: c.touch.variant_id for c in credits}
    for key, value in per_touch.items():
        arm(touch_variant[key]).revenue_sq += value * value
    for variant_id, numbers in orders.items():
        arm(variant_id).orders = len(numbers)
    ordered = sorted(arms.values(), key=lambda a: (a.variant_id not in running, a.variant_id))
    totals = _rates(sum(a.impressions for a in ordered), sum(a.clicks for a in ordered),
                    len({c.purchase.order_number for c in credits}), sum(a.revenue for a in ordered))
    totals["served"] = sum(a.served for a in ordered)
    report_arms = experiments.compare(ordered)
    for entry in report_arms:
        entry["running"] = entry["id"] in running
    return {
        "datasource": {"id": ds.id, "name": ds.name, "algorithm": ds.algorithm},
        **span.to_json(), "attributionWindowDays": window_days,
        "totals": totals, "variants": report_arms, "methods": experiments.METHODS,
        "daily": [_day_json(d, daily[d], len(day_orders[d]), [a.variant_id for a in ordered]) for d in span.days],
    }


def _day_json(day: int, row: dict[str, float], orders: int, variant_ids: list[int]) -> dict[str, Any]:
    out = {"date": iso(day), "served": int(row["served"]),
           **_rates(int(row["impressions"]), int(row["clicks"]), orders, row["revenue"])}
    out["byVariant"] = {
        str(v): {"impressions": int(row[f"impressions:{v}"]), "clicks": int(row[f"clicks:{v}"]),
                 "revenue": round(row[f"revenue:{v}"], 2)} for v in variant_ids}
    return out


def revenue_share(engine: sa.Engine, account_id: int, names: dict[int, str], span: Period,
                  window_days: float) -> dict[str, Any]:
    """The shop's revenue in the period and the part credited to recommendations, per data source and day."""
    window_ms = int(window_days * DAY_MS)
    with engine.connect() as conn:
        counts = store.event_counts(conn, account_id, span.start, span.end)
        credits, total = _credits(conn, account_id, span, window_ms)
    per_ds: dict[int, dict[str, Any]] = defaultdict(lambda: {"impressions": 0, "clicks": 0, "revenue": 0.0,
                                                             "orders": set()})
    for ds_id, _day, _v, kind, n in counts:
        per_ds[ds_id]["impressions" if kind == attribution.IMPRESSION else "clicks"] += n
    by_day: dict[int, float] = defaultdict(float)
    for c in credits:
        entry = per_ds[c.touch.datasource_id]
        entry["revenue"] += c.purchase.revenue
        entry["orders"].add(c.purchase.order_number)
        by_day[attribution.day_of(c.purchase.ts)] += c.purchase.revenue
    credited = sum(c.purchase.revenue for c in credits)
    return {
        **span.to_json(), "attributionWindowDays": window_days,
        "revenue": round(total, 2), "recommendationRevenue": round(credited, 2),
        "share": credited / total if total else None,
        "orders": len({c.purchase.order_number for c in credits}),
        "datasources": [
            {"id": ds_id, "name": names.get(ds_id, f"deleted data source {ds_id}"),
             **_rates(v["impressions"], v["clicks"], len(v["orders"]), v["revenue"])}
            for ds_id, v in sorted(per_ds.items())],
        "daily": [{"date": iso(d), "recommendationRevenue": round(by_day[d], 2)} for d in span.days],
    }


def for_datasource(platform: Platform, account_id: int, ds_id: int, start: str | None, end: str | None
                   ) -> dict[str, Any]:
    """The report of one of the account's data sources over a period (404 for another's)."""
    ds = platform.datasources.get(account_id, ds_id)
    return datasource_report(platform.engine, ds, period(start, end), platform.settings.attribution_window_days)


def for_shop(platform: Platform, account_id: int, start: str | None, end: str | None) -> dict[str, Any]:
    """The account's revenue from recommendations over a period, per data source and day."""
    names = {ds.id: ds.name for ds in platform.datasources.list(account_id)}
    return revenue_share(platform.engine, account_id, names, period(start, end),
                         platform.settings.attribution_window_days)
