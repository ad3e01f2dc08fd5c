"""cross_sell: complements for a whole cart."""

from __future__ import annotations

from tests.recommenders.tiny import TinyShop, product


def shop() -> TinyShop:
    items = [product("phone", "Electronics > Phones > Smartphones", 500),
             product("phone2", "Electronics > Phones > Smartphones", 450),
             product("case", "Electronics > Phones > Cases", 20),
             product("charger", "Electronics > Phones > Chargers", 25),
             product("pan", "Home > Kitchen > Pans", 30), product("spatula", "Home > Kitchen > Tools", 5),
             product("socks", "Clothing > Socks", 5)]
    s = TinyShop(items)
    for u in range(5):
        s.buy_together(f"u{u}", "phone", "case", "phone2", day=u)  # a second phone in the same order
    for u in range(3):
        s.buy_together(f"c{u}", "phone", "charger", day=u)
    for u in range(4):
        s.buy_together(f"k{u}", "pan", "spatula", day=u)
    for u in range(30):
        s.buy_together(f"s{u}", "socks", day=u)
    return s


def test_complements_of_the_whole_cart_are_summed():
    ranked = shop().recommend("cross_sell", ["phone", "pan"], size=3, fallback=False)
    assert set(ranked) == {"case", "charger", "spatula"}


def test_not_the_carts_products_nor_their_leaf_categories():
    ranked = shop().recommend("cross_sell", ["phone"], size=5, fallback=False)
    assert ranked[:2] == ["case", "charger"]
    assert "phone" not in ranked and "phone2" not in ranked  # same leaf: an alternative, not a complement


def test_the_leaf_category_exclusion_is_a_param():
    ranked = shop().recommend("cross_sell", ["phone"], size=5, fallback=False,
                              params={"exclude_same_category": False})
    assert "phone2" in ranked


def test_the_fallback_obeys_the_cart_exclusions():
    # Bestsellers fill the rest, but never a product of the cart's leaf categories.
    ranked = shop().recommend("cross_sell", ["phone2"], size=6)
    assert "phone" not in ranked and "phone2" not in ranked
    assert "socks" in ranked
