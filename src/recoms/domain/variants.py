"""A/B variants of a data source: which configuration a contact gets, by a stable hash (no I/O).

A data source's own configuration is the control (variant 0, "A"); `variants` adds up to seven
challengers, each with a traffic share in percent; the control gets what is left. A contact is hashed
with the data source's id and the experiment's start, so it keeps its variant for the whole experiment,
on every device merged into it, and a new experiment shuffles contacts afresh.

Buckets are laid from the top of the hash range down in variant order, so adding a challenger takes
its share from the control without moving any contact of the other challengers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recoms.domain.datasource import DataSource

MAX_VARIANTS = 8  # the control and up to seven challengers
MAX_CHALLENGERS = MAX_VARIANTS - 1
MAX_VARIANT_ID = 999
BUCKETS = 10_000  # shares resolve to hundredths of a percent
CONTROL_ID = 0
OVERRIDES = ("algorithm", "params", "rules", "size", "fallback")


@dataclass(frozen=True)
class Variant:
    id: int  # 0: the control
    name: str
    share: float  # percent of contacts
    datasource: DataSource  # the configuration it serves

    @property
    def control(self) -> bool:
        return self.id == CONTROL_ID


def default_name(variant_id: int) -> str:
    """A, B, C ... for the first 26 ids, then V27, V28 ..."""
    return chr(ord("A") + variant_id) if variant_id < 26 else f"V{variant_id}"


def control_share(challenger_shares: list[float] | tuple[float, ...]) -> float:
    return max(0.0, round(100.0 - sum(challenger_shares), 2))


def arms(ds: DataSource) -> tuple[Variant, ...]:
    """Every variant of a data source, the control first."""
    control = Variant(CONTROL_ID, ds.control_name, control_share([v.share for v in ds.variants]), ds)
    return (control, *ds.variants)


def bucket(ds_id: int, salt: int, contact_key: int | str) -> int:
    """The contact's place in [0, BUCKETS): uniform, the same on every replica and every run."""
    digest = hashlib.blake2b(f"{ds_id}:{salt}:{contact_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def bounds(shares: list[float] | tuple[float, ...]) -> tuple[int, ...]:
    """The lower bucket of each challenger: challenger i holds [bounds[i], bounds[i-1]) (BUCKETS above the first)."""
    out, top = [], BUCKETS
    for share in shares:
        top -= round(share * BUCKETS / 100)
        out.append(max(top, 0))
    return tuple(out)


def choose(ds: DataSource, contact_key: int | str | None) -> Variant:
    """The variant a contact gets (the hot path: one hash, no allocation beyond it).

    `contact_key` is the contact id (canonical after merges); without one (an anonymous server-side
    call) the control answers.
    """
    if not ds.variants:
        return ds.control_variant
    if contact_key is None:
        return ds.control_variant
    place = bucket(ds.id, ds.experiment_started_at or 0, contact_key)
    for variant, low in zip(ds.variants, ds.variant_bounds, strict=True):
        if place >= low:
            return variant
    return ds.control_variant


def by_id(ds: DataSource, variant_id: int) -> Variant | None:
    return next((v for v in arms(ds) if v.id == variant_id), None)


def variant_json(raw: dict[str, Any], canonical: dict[str, Any]) -> dict[str, Any]:
    """A challenger as the API shows it: id, name, share and the overrides it was given (rules canonical)."""
    out = {"id": raw["id"], "name": raw.get("name") or default_name(raw["id"]), "share": raw["share"]}
    for key in OVERRIDES:
        if key in raw:
            out[key] = canonical[key]
    return out
