"""Attribution (no I/O): recommendation ids, impressions and clicks named in tracker events, and which
served list a purchase is credited to.

A recommendation id names the served list and says where it came from: `r<data source>v<variant>.<n>`
(`r12v1.18c3f2a9b0e4001`), so an impression or a click that carries it needs no lookup to be counted
for its data source and variant. `<n>` (hex) is the row of the recommendation log.

A purchase of a product by a contact is credited to the last click on that product in a
recommendation by the same contact within the window before it; without one, to the last impression.
Each (order, product) is credited at most once, with that line's revenue.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CLICK, IMPRESSION = "click", "impression"
KINDS = (IMPRESSION, CLICK)
DAY_MS = 86_400_000
_ID = re.compile(r"[rR](\d{1,18})[vV](\d{1,3})\.([0-9a-f]{1,16})")
ID_FIELDS = ("recommendationId", "recommendation_id", "recomId")


@dataclass(frozen=True)
class RecommendationRef:
    datasource_id: int
    variant_id: int | None  # None: named by its data source only; the contact's variant is taken
    number: int | None  # the recommendation log's row (None: the list itself is not known)


def format_id(datasource_id: int, variant_id: int, number: int) -> str:
    return f"r{datasource_id}v{variant_id}.{number:x}"


def parse_id(value: Any) -> RecommendationRef | None:
    """A recommendation id as the clients echo it back; None for anything else."""
    if not isinstance(value, str) or len(value) > 60:
        return None
    match = _ID.fullmatch(value.strip())
    if match is None:
        return None
    number = int(match[3], 16)
    ds_id = int(match[1])
    if not ds_id or number >= 2**63:
        return None
    return RecommendationRef(ds_id, int(match[2]), number)


_SOURCE = re.compile(r"[rR](\d{1,18})(?:[vV]\d{1,18})?|(\d{1,18})")


def parse_source(value: Any) -> RecommendationRef | None:
    """A data source named without a list: `12`, or the platform's `r12v3` (its v is not our variant)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    match = _SOURCE.fullmatch(value.strip())
    ds_id = int(match[1] or match[2]) if match else 0
    return RecommendationRef(ds_id, None, None) if 0 < ds_id < 2**63 else None


# --- impressions and clicks in the web tracker's events -----------------------------------------


@dataclass(frozen=True)
class Signal:
    kind: str  # impression | click
    product_id: str
    ref: RecommendationRef


SOURCE_FIELDS = ("datasourceId", "datasource_id")


def _rid(*sources: Any) -> RecommendationRef | None:
    """The list a section names: a recommendation id, else a data source id (a page that got no id)."""
    for source in sources:
        if isinstance(source, dict):
            for name in ID_FIELDS:
                ref = parse_id(source.get(name))
                if ref is not None:
                    return ref
    for source in sources:
        if isinstance(source, dict):
            for name in SOURCE_FIELDS:
                ref = parse_source(source.get(name))
                if ref is not None:
                    return ref
    return None


def _impression_entries(raw: dict[str, Any]) -> tuple[Any, list[Any]]:
    """The ProductImpressions section and its product entries, in every form the tracker accepts."""
    section = raw.get("ProductImpressions", raw.get("ProductImpression"))
    if isinstance(section, list):
        return {}, section
    if not isinstance(section, dict):
        return {}, []
    products = section.get("Products", section.get("products", []))
    if isinstance(products, dict):
        products = [products]
    return section, products if isinstance(products, list) else []


def web_signals(event_type: str, raw: dict[str, Any], payload: dict[str, Any]) -> list[Signal]:
    """Impressions and clicks of recommendations in a parsed tracker event.

    - `ProductImpressions` with a `recommendationId` (on the section, on each product, or in GeneralInfo):
      each product is an impression of that list.
    - `ProductPage` with a `recommendationId` (on the section or in GeneralInfo): the visitor came to the
      product from that list, i.e. clicked it (the tracker's `recoms.click()` adds it to the next page view).
    A `datasourceId` instead of a recommendation id names the data source only (the contact's variant).
    """
    info = raw.get("GeneralInfo") if isinstance(raw.get("GeneralInfo"), dict) else {}
    if event_type == "ProductImpressions":
        section, entries = _impression_entries(raw)
        shared = _rid(section, raw, info)
        out = []
        for i, item in enumerate(payload.get("items", [])):
            entry = entries[i] if i < len(entries) else None
            ref = _rid(entry) or shared
            if ref is not None:
                out.append(Signal(IMPRESSION, item["product_id"], ref))
        return out
    if event_type == "ProductPage":
        section = raw.get("ProductPage")
        ref = _rid(section, section.get("Product") if isinstance(section, dict) else None, raw, info)
        if ref is not None and payload.get("product_id"):
            return [Signal(CLICK, payload["product_id"], ref)]
    return []


# --- crediting purchases ------------------------------------------------------------------------


@dataclass(frozen=True)
class Touch:
    """An impression or a click of a product shown in a data source's list, by a contact."""

    contact_id: int
    product_id: str
    ts: int
    kind: str
    datasource_id: int
    variant_id: int
    key: int  # what identifies the impression (the event's row): revenue per impression is summed by it


@dataclass(frozen=True)
class Purchase:
    order_number: str
    contact_id: int
    product_id: str
    ts: int
    revenue: float


@dataclass(frozen=True)
class Credit:
    purchase: Purchase
    touch: Touch


class _Timeline:
    """One contact's touches of one product, in time order, clicks and impressions apart."""

    def __init__(self) -> None:
        self.times: dict[str, list[int]] = {CLICK: [], IMPRESSION: []}
        self.touches: dict[str, list[Touch]] = {CLICK: [], IMPRESSION: []}

    def sort(self) -> None:
        for kind in KINDS:
            pairs = sorted(zip(self.times[kind], range(len(self.times[kind])), strict=True))
            self.touches[kind] = [self.touches[kind][i] for _t, i in pairs]
            self.times[kind] = [t for t, _i in pairs]

    def last(self, kind: str, start: int, end: int) -> Touch | None:
        at = bisect.bisect_right(self.times[kind], end) - 1
        if at >= 0 and self.times[kind][at] >= start:
            return self.touches[kind][at]
        return None


def credit(purchases: Iterable[Purchase], touches: Iterable[Touch], window_ms: int) -> list[Credit]:
    """Each purchase line credited to the last click on it in the window before it, else the last
    impression; lines of an order already credited (a re-sent order) are skipped."""
    timelines: dict[tuple[int, str], _Timeline] = defaultdict(_Timeline)
    for touch in touches:
        line = timelines[(touch.contact_id, touch.product_id)]
        line.times[touch.kind].append(touch.ts)
        line.touches[touch.kind].append(touch)
    for line in timelines.values():
        line.sort()
    seen: set[tuple[str, str]] = set()
    out = []
    for purchase in purchases:
        key = (purchase.order_number, purchase.product_id)
        if key in seen:
            continue
        seen.add(key)
        line = timelines.get((purchase.contact_id, purchase.product_id))
        if line is None:
            continue
        start = purchase.ts - window_ms
        touch = line.last(CLICK, start, purchase.ts) or line.last(IMPRESSION, start, purchase.ts)
        if touch is not None:
            out.append(Credit(purchase, touch))
    return out


def day_of(ts: int) -> int:
    """The UTC day a time falls on, as days since the epoch."""
    return ts // DAY_MS


def days(start_day: int, end_day: int) -> Sequence[int]:
    return range(start_day, end_day + 1)
