"""Algorithms by name. Built-ins and plugins register the same way: the `recoms.algorithms` entry points.

A plugin is a `Recommender` subclass published under the entry-point group `recoms.algorithms`; the
`custom` data-source algorithm names it in `params.plugin`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from recoms.recommenders.base import Recommender

BUILTIN = {
    "bestsellers": "recoms.recommenders.bestsellers:Bestsellers",
    "similar": "recoms.recommenders.similar:Similar",
    "also_bought": "recoms.recommenders.also_bought:AlsoBought",
    "cross_sell": "recoms.recommenders.cross_sell:CrossSell",
    "upsell": "recoms.recommenders.upsell:Upsell",
    "personal": "recoms.recommenders.personal:Personal",
    "recently_viewed": "recoms.recommenders.recently_viewed:RecentlyViewed",
    "new_arrivals": "recoms.recommenders.new_arrivals:NewArrivals",
}
GROUP = "recoms.algorithms"


def _load(target: str) -> type[Recommender]:
    module_name, _, attr = target.partition(":")
    module = __import__(module_name, fromlist=[attr])
    return getattr(module, attr)


@lru_cache(maxsize=1)
def plugins() -> dict[str, str]:
    """Installed plugin algorithms: name -> 'module:Class' (built-in names cannot be taken)."""
    found = {}
    for ep in entry_points(group=GROUP):
        if ep.name not in BUILTIN:
            found[ep.name] = ep.value
    return found


def builtin_names() -> list[str]:
    return [name for name in BUILTIN if _available(name)]


def _available(name: str) -> bool:
    try:
        _load(BUILTIN[name])
    except ImportError:
        return False
    return True


@lru_cache(maxsize=64)
def get_algorithm(name: str) -> type[Recommender]:
    """The class of a built-in algorithm or an installed plugin; KeyError when unknown."""
    target = BUILTIN.get(name) or plugins().get(name)
    if target is None:
        raise KeyError(name)
    cls = _load(target)
    if not (isinstance(cls, type) and issubclass(cls, Recommender)):
        raise KeyError(name)
    return cls


def algorithm_names() -> list[str]:
    """Every algorithm this installation can run: the built-ins, then the plugins by name."""
    return [*builtin_names(), *sorted(plugins())]
