"""Crediting purchases to recommendation lists, with known answers; recommendation ids; tracker signals."""

from __future__ import annotations

from recoms.domain import attribution
from recoms.domain.attribution import Purchase, Touch

DAY = attribution.DAY_MS
WEEK = 7 * DAY
T0 = 1_760_000_000_000


def touch(kind: str, ts: int, contact: int = 1, product: str = "P1", ds: int = 3, variant: int = 0,
          key: int = 0) -> Touch:
    return Touch(contact, product, ts, kind, ds, variant, key or ts)


def buy(ts: int, contact: int = 1, product: str = "P1", order: str = "O1", revenue: float = 25.0) -> Purchase:
    return Purchase(order, contact, product, ts, revenue)


def test_a_click_then_a_purchase_within_the_window_counts_once_with_its_revenue():
    credits = attribution.credit([buy(T0 + DAY)], [touch("click", T0)], WEEK)
    assert len(credits) == 1 and credits[0].purchase.revenue == 25.0 and credits[0].touch.kind == "click"


def test_outside_the_window_or_before_the_touch_nothing_counts():
    assert attribution.credit([buy(T0 + WEEK + 1)], [touch("click", T0)], WEEK) == []
    assert attribution.credit([buy(T0 - 1)], [touch("click", T0)], WEEK) == []
    assert len(attribution.credit([buy(T0 + WEEK)], [touch("click", T0)], WEEK)) == 1  # the edge is inside


def test_another_contacts_purchase_or_another_product_does_not_count():
    assert attribution.credit([buy(T0 + DAY, contact=2)], [touch("click", T0, contact=1)], WEEK) == []
    assert attribution.credit([buy(T0 + DAY, product="P2")], [touch("click", T0, product="P1")], WEEK) == []


def test_a_re_sent_order_is_counted_once():
    credits = attribution.credit([buy(T0 + DAY), buy(T0 + DAY)], [touch("click", T0)], WEEK)
    assert len(credits) == 1


def test_last_click_first_else_last_impression():
    touches = [touch("impression", T0, ds=1, key=1), touch("click", T0 + 10, ds=2, key=2),
               touch("impression", T0 + 20, ds=3, key=3)]
    (credit,) = attribution.credit([buy(T0 + DAY)], touches, WEEK)
    assert credit.touch.datasource_id == 2  # a later impression does not beat a click
    later_clicks = [*touches, touch("click", T0 + 30, ds=4, key=4)]
    assert attribution.credit([buy(T0 + DAY)], later_clicks, WEEK)[0].touch.datasource_id == 4
    impressions = [touch("impression", T0, ds=1, key=1), touch("impression", T0 + 5, ds=5, key=5)]
    assert attribution.credit([buy(T0 + DAY)], impressions, WEEK)[0].touch.datasource_id == 5
    # A click after the purchase does not count: the impression before it does.
    late = [touch("impression", T0, ds=1, key=1), touch("click", T0 + 2 * DAY, ds=2, key=2)]
    assert attribution.credit([buy(T0 + DAY)], late, WEEK)[0].touch.datasource_id == 1


def test_recommendation_ids_round_trip():
    rid = attribution.format_id(12, 3, 0x18C3F2A9B0E4001)
    assert rid == "r12v3.18c3f2a9b0e4001"
    assert attribution.parse_id(rid) == attribution.RecommendationRef(12, 3, 0x18C3F2A9B0E4001)
    for bad in ("r12v3", "12", "r0v1.ab", "r12v1.", "r12v1.xyz", None, 5, "r12v1." + "f" * 17):
        assert attribution.parse_id(bad) is None


def test_tracker_events_name_their_list():
    rid = attribution.format_id(4, 1, 99)
    ref = attribution.parse_id(rid)
    raw = {"GeneralInfo": {"eventName": "ProductImpressions"},
           "ProductImpressions": {"recommendationId": rid, "Products": [{"product_id": "A"}, {"product_id": "B"}]}}
    payload = {"items": [{"product_id": "A"}, {"product_id": "B"}]}
    signals = attribution.web_signals("ProductImpressions", raw, payload)
    assert [(s.kind, s.product_id, s.ref) for s in signals] == [("impression", "A", ref), ("impression", "B", ref)]
    # Per product, or a bare list with the id in GeneralInfo; without one, nothing.
    per_item = {"ProductImpressions": {"Products": [{"product_id": "A", "recommendation_id": rid},
                                                    {"product_id": "B"}]}}
    assert [s.product_id for s in attribution.web_signals("ProductImpressions", per_item, payload)] == ["A"]
    bare = {"GeneralInfo": {"recommendationId": rid}, "ProductImpression": [{"product_id": "A"}, {"product_id": "B"}]}
    assert len(attribution.web_signals("ProductImpressions", bare, payload)) == 2
    assert attribution.web_signals("ProductImpressions", {"ProductImpressions": {"Products": []}}, payload) == []
    page = {"ProductPage": {"productKey": "A", "recommendationId": rid}}
    assert [(s.kind, s.product_id) for s in attribution.web_signals("ProductPage", page, {"product_id": "A"})] == [
        ("click", "A")]
    assert attribution.web_signals("ProductPage", {"ProductPage": {"productKey": "A"}}, {"product_id": "A"}) == []
