"""similar: alternatives for an out-of-stock product."""

from __future__ import annotations

from tests.recommenders.tiny import TinyShop, product


def shop() -> TinyShop:
    items = [
        product("boot", "Shoes > Boots", 100, name="Trail leather boot brown", in_stock=False, brand="Volt"),
        product("boot2", "Shoes > Boots", 110, name="Trail leather boot black", brand="Volt"),
        product("boot3", "Shoes > Boots", 95, name="Winter boot", brand="Nord"),
        product("boot_oos", "Shoes > Boots", 100, name="Trail leather boot tan", in_stock=False),
        product("boot_lux", "Shoes > Boots", 400, name="Trail leather boot deluxe", brand="Volt"),
        product("sandal", "Shoes > Sandals", 100, name="Trail leather sandal brown", brand="Volt"),
        product("sock", "Clothing > Socks", 5, name="Trail socks"),
    ]
    s = TinyShop(items)
    for u in range(4):  # visitors who look at the boot also look at the winter boot
        s.add(f"u{u}", "boot", "view", day=u)
        s.add(f"u{u}", "boot3", "view", day=u)
    for u in range(10):
        s.buy_together(f"b{u}", "sock", day=u)
    return s


def test_alternatives_are_in_stock_in_its_category_and_in_its_price_band():
    ranked = shop().recommend("similar", ["boot"], size=5)
    assert set(ranked) == {"boot2", "boot3"}


def test_co_views_and_content_both_count():
    ranked = shop().recommend("similar", ["boot"], size=5, params={"content_weight": 0.0})
    assert ranked[0] == "boot3"  # co-viewed
    ranked = shop().recommend("similar", ["boot"], size=5, params={"content_weight": 1.0})
    assert ranked[0] == "boot2"  # nearest text: same words, same brand


def test_the_price_band_is_a_param():
    ranked = shop().recommend("similar", ["boot"], size=5, params={"max_pct": 500})
    assert "boot_lux" in ranked


def test_the_fallback_keeps_the_algorithms_own_constraints():
    # Only two alternatives qualify: the bestseller (socks) must not fill the rest.
    assert "sock" not in shop().recommend("similar", ["boot"], size=5)


def test_needs_products():
    _catalog, model = shop().fit("similar")
    assert model.required_context() == "products"
