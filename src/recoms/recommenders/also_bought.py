"""Also bought: what the buyers of these products also bought (the seed's "potential purchase").

Co-purchases by the same customers and in the same orders, normalised so that a bestseller bought by
everybody does not top every list (see `copurchase`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from recoms.recommenders.copurchase import CoPurchase


class AlsoBought(CoPurchase):
    name = "also_bought"
    default_params: ClassVar[dict[str, Any]] = {**CoPurchase.default_params, "customer_weight": 0.5}
