"""upsell: pricier alternatives and complements within a relative price range."""

from __future__ import annotations

from tests.recommenders.tiny import TinyShop, product


def shop() -> TinyShop:
    items = [product("tv", "Electronics > TV", 500, name="Vision TV 50 inch"),
             product("tv_big", "Electronics > TV", 900, name="Vision TV 65 inch"),
             product("tv_huge", "Electronics > TV", 2500, name="Vision TV 85 inch"),
             product("tv_small", "Electronics > TV", 300, name="Vision TV 32 inch"),
             product("soundbar", "Electronics > Audio", 600, name="Soundbar"),
             product("cable", "Electronics > Cables", 10, name="HDMI cable")]
    s = TinyShop(items)
    for u in range(4):
        s.buy_together(f"u{u}", "tv", "soundbar", "cable", day=u)
    return s


def test_only_pricier_products_within_the_band():
    ranked = shop().recommend("upsell", ["tv"], size=5)
    assert set(ranked) == {"tv_big", "soundbar"}  # 100 % < price <= 300 %


def test_the_band_is_a_param():
    ranked = shop().recommend("upsell", ["tv"], size=5, params={"max_pct": 600})
    assert "tv_huge" in ranked and "tv_small" not in ranked and "cable" not in ranked


def test_short_lists_stay_short_rather_than_break_the_band():
    ranked = shop().recommend("upsell", ["tv_huge"], size=5)
    assert ranked == []
