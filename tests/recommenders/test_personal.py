"""personal: purchases and browsing, recent activity weighing more, bought items left out."""

from __future__ import annotations

from tests.recommenders.tiny import TinyShop, product


def shop() -> TinyShop:
    items = [product(p, "Misc") for p in ("a", "b", "c", "d", "e", "coffee", "pop")]
    s = TinyShop(items)
    for u in range(8):  # who has a also has b; who has c also has d
        s.buy_together(f"ab{u}", "a", "b", day=u)
        s.buy_together(f"cd{u}", "c", "d", day=u)
    for u in range(20):
        s.buy_together(f"p{u}", "pop", day=u)
    return s


def test_discovery_from_what_the_contact_did():
    ranked = shop().recommend("personal", size=1, history=[("a", "view", 29)], fallback=False)
    assert ranked == ["b"]


def test_recent_activity_weighs_more():
    history = [("c", "view", 1), ("a", "view", 29)]
    ranked = shop().recommend("personal", size=2, history=history, fallback=False,
                              params={"half_life_events": 1.0})
    assert ranked == ["b", "d"]
    ranked = shop().recommend("personal", size=2, history=history, fallback=False,
                              params={"half_life_days": 3.0})
    assert ranked == ["b", "d"]


def test_already_bought_items_are_left_out_by_default():
    history = [("a", "purchase", 20), ("b", "purchase", 21)]
    assert not {"a", "b"} & set(shop().recommend("personal", size=5, history=history))


def test_repeat_part_brings_back_what_the_contact_buys_again():
    history = [("coffee", "purchase", d) for d in (1, 8, 15, 22)]
    ranked = shop().recommend("personal", size=1, history=history, fallback=False,
                              params={"exclude_purchased": False, "repeat_weight": 0.8})
    assert ranked == ["coffee"]


def test_a_contact_without_history_gets_bestsellers():
    assert shop().recommend("personal", size=1) == ["pop"]


def test_rp3beta_discovery_for_large_catalogues():
    _catalog, model = shop().fit("personal", discovery="rp3beta")
    assert model.model.sparse is not None
    ranked = shop().recommend("personal", size=1, history=[("c", "view", 29)], fallback=False,
                              params={"discovery": "rp3beta"})
    assert ranked == ["d"]


def test_recent_popularity_can_lead_the_popularity_prior():
    s = TinyShop([product(p, "Misc") for p in ("old_hit", "new_hit", "x")])
    for u in range(10):
        s.buy_together(f"o{u}", "old_hit", day=-300)  # a hit long ago
    for u in range(3):
        s.buy_together(f"n{u}", "new_hit", day=29)  # a few sales this week
    ranked = s.recommend("personal", size=2, history=[("x", "view", 29)], fallback=False,
                         params={"popularity_weight": 0.9, "popularity_half_life_days": 7.0})
    assert ranked == ["new_hit", "old_hit"]
    ranked = s.recommend("personal", size=2, history=[("x", "view", 29)], fallback=False,
                         params={"popularity_weight": 0.9, "popularity_half_life_days": 0.0})
    assert ranked == ["old_hit", "new_hit"]
