"""also_bought: what the buyers of these products also bought."""

from __future__ import annotations

from tests.recommenders.tiny import TinyShop, product


def shop() -> TinyShop:
    items = [product("phone", "Electronics > Phones", 500), product("case", "Electronics > Cases", 20),
             product("charger", "Electronics > Chargers", 25), product("socks", "Clothing > Socks", 5),
             product("tv", "Electronics > TV", 800), product("cable", "Electronics > Cables", 8)]
    s = TinyShop(items)
    for u in range(6):  # the phone and its case: always bought together
        s.buy_together(f"u{u}", "phone", "case", day=u)
    for u in range(2):
        s.buy_together(f"u{u}", "phone", "charger", day=10 + u)
    for u in range(20):  # socks are a bestseller, bought by everybody, never with a phone in particular
        s.buy_together(f"s{u}", "socks", day=u)
    s.buy_together("u0", "socks", day=20)
    s.buy_together("t0", "tv", "cable", day=3)
    return s


def test_two_products_always_bought_together_come_first():
    assert shop().recommend("also_bought", ["phone"], size=2, fallback=False) == ["case", "charger"]


def test_the_context_product_itself_is_never_recommended():
    assert "phone" not in shop().recommend("also_bought", ["phone", "case"], size=5)


def test_a_bestseller_bought_by_everybody_does_not_top_the_list():
    ranked = shop().recommend("also_bought", ["phone"], size=3, fallback=False)
    assert ranked[:2] == ["case", "charger"]
    assert ranked.index("socks") == 2 if "socks" in ranked else True


def test_unknown_context_products_are_ignored_and_the_fallback_fills():
    ranked = shop().recommend("also_bought", ["nope"], size=3)
    assert ranked[0] == "socks"  # store-wide bestsellers fill in
    assert len(ranked) == 3


def test_out_of_stock_products_are_never_recommended():
    s = shop()
    s.products[1].in_stock = False  # the case
    assert "case" not in s.recommend("also_bought", ["phone"], size=5)
