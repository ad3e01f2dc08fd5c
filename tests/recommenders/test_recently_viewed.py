"""recently_viewed and new_arrivals."""

from __future__ import annotations

from tests.recommenders.tiny import TinyShop, product


def shop() -> TinyShop:
    return TinyShop([product(p, "Shoes > Boots" if p < "c" else "Bags") for p in ("a", "b", "c", "d", "e")])


def test_recently_viewed_newest_first_without_repeats():
    history = [("a", "view", 1), ("c", "view", 5), ("b", "view", 3), ("a", "view", 7), ("d", "purchase", 8)]
    assert shop().recommend("recently_viewed", size=5, history=history, fallback=False) == ["a", "c", "b"]


def test_recently_viewed_leaves_out_the_context_product():
    history = [("a", "view", 1), ("b", "view", 5)]
    assert shop().recommend("recently_viewed", ["b"], size=5, history=history, fallback=False) == ["a"]


def test_new_arrivals_newest_first_and_per_category():
    assert shop().recommend("new_arrivals", size=2, fallback=False) == ["e", "d"]
    ranked = shop().recommend("new_arrivals", categories=["boots"], size=5, params={"scope": "category"},
                              fallback=False)
    assert ranked == ["b", "a"]
