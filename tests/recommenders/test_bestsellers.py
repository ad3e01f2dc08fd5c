"""bestsellers: store-wide, in a category, in the context's category, over a window."""

from __future__ import annotations

from tests.recommenders.tiny import TinyShop, product


def shop() -> TinyShop:
    items = [product("a", "Home > Kitchen > Pans"), product("b", "Home > Kitchen > Pans"),
             product("c", "Home > Kitchen > Knives"), product("d", "Garden > Tools"),
             product("e", "Garden > Tools"), product("old", "Garden > Tools")]
    s = TinyShop(items)
    for u in range(5):
        s.buy_together(f"u{u}", "d", day=25)
    for u in range(3):
        s.buy_together(f"v{u}", "a", day=28)
    s.buy_together("w", "c", day=29)
    s.buy_together("w", "b", day=29)
    for u in range(50):  # sold a lot, but long ago: outside a 21-day window
        s.buy_together(f"x{u}", "old", day=-60)
    for u in range(4):
        s.add(f"y{u}", "e", "view", day=29)
    return s


def test_store_wide_bestsellers_in_order_of_sales_within_the_window():
    assert shop().recommend("bestsellers", size=4, fallback=False) == ["d", "a", "b", "c"]


def test_a_longer_window_counts_older_sales():
    ranked = shop().recommend("bestsellers", size=2, fallback=False, params={"window_days": 90})
    assert ranked[0] == "old"


def test_category_scope_matches_a_name_at_any_level_case_insensitively():
    s = shop()
    assert s.recommend("bestsellers", categories=["kitchen"], params={"scope": "category"}, fallback=False) == [
        "a", "b", "c"]
    assert s.recommend("bestsellers", categories=["Pans"], params={"scope": "category"}, fallback=False) == [
        "a", "b"]


def test_context_scope_uses_the_context_products_leaf_category():
    ranked = shop().recommend("bestsellers", products=["b"], params={"scope": "context"}, fallback=False)
    assert ranked == ["a"]


def test_views_only_break_ties_they_never_outrank_sales():
    ranked = shop().recommend("bestsellers", categories=["Tools"], params={"scope": "category"}, fallback=False)
    assert ranked == ["d", "e"]
