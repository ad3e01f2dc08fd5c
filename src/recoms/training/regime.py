"""Which kind of shop the data shows, and the defaults that suit it before (or without) any tuning.

Shops differ in ways their events say plainly: groceries are bought again and again, furniture never;
some shops only know views. A few signals, each cheap to count, pick the starting parameters of the
algorithms, so that even a snapshot trained before any tuning (or with too little data to tune) is
sensible. Tuning (`training.tuning`) then refines them on the shop's own held-out orders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from recoms.recommenders.base import PURCHASE, Interactions

# A signal decides only above these counts; below, the algorithms keep their class defaults.
MIN_REPEAT_CONTACTS = 20  # contacts with at least two orders, to measure buying again
REBUY_SHARE = 0.25  # of the repeat buyers' purchases that are items they had bought before: "re-buy"
NEVER_SHARE = 0.05  # below this, nobody re-buys: personal is all discovery
MIN_PURCHASES = 50  # below this many purchases a shop that has views is "view-led"
SITTING_MS = 30 * 60_000  # orders closer than this are one sitting (a visit, or a bulk import)
BULK_SHARE = 0.5  # of repeat orders placed in the same sitting as the one before: orders are not visits
DECAYS = frozenset({"half_life_days", "half_life_events"})

# The starting point per regime (the class defaults fill the rest). Chosen on the held-out figures of
# docs/quality.md: on grocery baskets the contact's own time-decayed purchases, smoothed by similar
# contacts (TIFU-KNN), beat everything else; where nobody re-buys, the item model alone.
DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "rebuy": {
        "personal": {"exclude_purchased": False, "repeat_weight": 0.7, "neighbour_weight": 0.5,
                     "half_life_days": 90.0},
    },
    "mixed": {
        "personal": {"repeat_weight": 0.3, "neighbour_weight": 0.5, "half_life_days": 90.0},
    },
    "never": {
        "personal": {"repeat_weight": 0.0},
    },
    "views": {
        "personal": {"repeat_weight": 0.0, "half_life_events": 10.0},
    },
}


@dataclass
class Regime:
    """What the data says about the shop, and the name of the regime it falls in ("" = unknown)."""

    name: str
    contacts: int
    purchases: int
    events: int
    orders: int
    repeat_contacts: int  # contacts with at least two orders
    repeat_share: float  # of the repeat contacts' purchases: items they had bought in an earlier order
    purchase_share: float  # purchases among all events
    items: int  # items with any event
    one_sitting_share: float = 0.0  # of the repeat orders: placed within a sitting of the contact's previous one

    @property
    def bulk(self) -> bool:
        """Orders that come in one sitting (ratings entered at once, an import without times) are no visits."""
        return self.repeat_contacts >= MIN_REPEAT_CONTACTS and self.one_sitting_share >= BULK_SHARE

    def defaults(self, algorithm: str) -> dict[str, Any]:
        """The parameters this regime starts `algorithm` with (over the class defaults)."""
        chosen = dict(DEFAULTS.get(self.name, {}).get(algorithm, {}))
        if self.bulk:
            chosen.update({key: 0.0 for key in DECAYS if key in chosen})
        return chosen

    def frozen(self) -> frozenset[str]:
        """Params tuning leaves alone: when orders are no visits, their order says nothing of what comes next."""
        return DECAYS if self.bulk else frozenset()

    def describe(self) -> str:
        if not self.name:
            return "too little data to tell the kind of shop: the algorithms' defaults"
        share = f"{self.repeat_share:.0%} of repeat customers' purchases are items bought before"
        text = {
            "rebuy": f"customers buy the same items again ({share}): personal recommends them back",
            "mixed": f"some buying again ({share}): personal blends it with discovery",
            "never": f"customers rarely buy an item twice ({share}): personal is discovery",
            "views": "mostly views, few purchases: personal follows the latest views",
        }[self.name]
        if self.bulk:
            text += (f"; {self.one_sitting_share:.0%} of orders came within 30 minutes of the customer's previous "
                     "one (entered at once, not visits): no decay by time")
        return text

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "repeat_share": round(self.repeat_share, 4),
                "purchase_share": round(self.purchase_share, 4),
                "one_sitting_share": round(self.one_sitting_share, 4), "description": self.describe()}


def order_keys(interactions: Interactions) -> np.ndarray:
    """Per event, its order: the basket, else (for purchases without one) the contact's purchases at one time.

    -1 for events that are no purchase.
    """
    keys = np.full(len(interactions), -1, np.int64)
    bought = interactions.kind == PURCHASE
    with_basket = bought & (interactions.basket >= 0)
    keys[with_basket] = interactions.basket[with_basket]
    loose = np.flatnonzero(bought & (interactions.basket < 0))
    if len(loose):
        pairs = np.stack([interactions.user[loose].astype(np.int64), interactions.ts[loose]])
        _, inverse = np.unique(pairs, axis=1, return_inverse=True)
        keys[loose] = int(interactions.basket.max(initial=-1)) + 1 + inverse.ravel()
    return keys


def detect(interactions: Interactions) -> Regime:
    """The signals, counted in one pass over the purchases, and the regime they point to."""
    events = len(interactions)
    bought = np.flatnonzero(interactions.kind == PURCHASE)
    orders = order_keys(interactions)[bought]
    users = interactions.user[bought].astype(np.int64)
    items = interactions.item[bought].astype(np.int64)
    contacts = len(np.unique(interactions.user)) if events else 0
    n_orders, repeat_contacts, share, one_sitting = 0, 0, 0.0, 0.0
    if len(bought):
        # Distinct (contact, order) and (contact, item, order); an item re-bought is one seen in an earlier order.
        order_pairs = np.unique(np.stack([users, orders]), axis=1)
        n_orders = order_pairs.shape[1]
        per_contact = np.bincount(order_pairs[0], minlength=interactions.n_users)
        repeaters = per_contact >= 2
        repeat_contacts = int(repeaters.sum())
        triples = np.unique(np.stack([users, items, orders]), axis=1)
        keep = repeaters[triples[0]]
        _, per_pair = np.unique(triples[:2, keep], axis=1, return_counts=True)
        total = int(per_pair.sum())
        share = float((per_pair - 1).sum() / total) if total else 0.0
        # Orders placed within a sitting of the contact's previous order: in a shop a few percent, in
        # ratings entered at once (or an import that gave every order the same time) nearly all.
        started = np.full(int(orders.max()) + 1, np.iinfo(np.int64).max, np.int64)
        np.minimum.at(started, orders, interactions.ts[bought])
        times = started[order_pairs[1]]
        by_contact = np.lexsort((times, order_pairs[0]))
        same = order_pairs[0][by_contact][1:] == order_pairs[0][by_contact][:-1]
        gaps = np.diff(times[by_contact])[same]
        one_sitting = float((gaps < SITTING_MS).mean()) if len(gaps) else 0.0
    purchase_share = len(bought) / events if events else 0.0
    if repeat_contacts >= MIN_REPEAT_CONTACTS:
        name = "rebuy" if share >= REBUY_SHARE else "never" if share < NEVER_SHARE else "mixed"
    elif len(bought) < MIN_PURCHASES and events >= MIN_PURCHASES and purchase_share < 0.05:
        name = "views"
    else:
        name = ""
    return Regime(
        name=name, contacts=contacts, purchases=len(bought), events=events, orders=n_orders,
        repeat_contacts=repeat_contacts, repeat_share=share, purchase_share=purchase_share,
        items=len(np.unique(interactions.item)) if events else 0, one_sitting_share=one_sitting,
    )
