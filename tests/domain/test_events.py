"""Tracker envelopes and mobile events parse to one normal form; bad ones say why."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoms.domain import events
from recoms.domain.events import EventError, parse_mobile, parse_web

NOW = 1_790_000_000_000


def test_a_web_envelope():
    ev = parse_web({"GeneralInfo": {"eventName": "ProductPage", "datetime": NOW - 5, "cookies": {"sc": "v1"},
                                    "user_email": "A@b.c"},
                    "ProductPage": {"productKey": "P1", "price": "9,90", "isInStock": "1", "tag_color": "red"}}, NOW)
    assert (ev.type, ev.ts, ev.ids) == ("ProductPage", NOW - 5, {"email": "a@b.c", "cookie": "v1"})
    assert ev.payload == {"product_id": "P1", "price": 9.9, "in_stock": True, "tags": {"color": "red"}}


def test_seconds_are_read_as_seconds_and_the_future_is_refused():
    ev = parse_web({"GeneralInfo": {"eventName": "MainPage", "datetime": NOW // 1000, "cookies": {"sc": "v"}}}, NOW)
    assert ev.ts == NOW // 1000 * 1000
    with pytest.raises(EventError, match="future"):
        parse_web({"GeneralInfo": {"eventName": "MainPage", "datetime": NOW * 2, "cookies": {"sc": "v"}}}, NOW)


def test_mobile_events_in_both_param_forms():
    a = parse_mobile({"eventName": "cartUpdated", "userPseudoId": "fb", "params": {"Products": [
        {"productKey": "P1", "quantity": 2}]}}, NOW)
    b = parse_mobile({"eventTypeKey": "productViewed", "deviceId": "d1",
                      "params": [{"name": "productKey", "value": "P2"}]}, NOW)
    assert a.type == "StatusCart" and a.payload["items"][0] == {"product_id": "P1", "price": None, "quantity": 2.0}
    assert b.type == "ProductPage" and b.ids == {"pseudo_id": "d1"}


@pytest.mark.parametrize(("event", "reason"), [
    ({"GeneralInfo": {"eventName": "ProductPage", "cookies": {"sc": "v"}}}, "payload is missing"),
    ({"GeneralInfo": {"eventName": "PurchasedItems", "cookies": {"sc": "v"}}, "PurchasedItems": {"Products": []}},
     "OrderNumber is required"),
    ({"GeneralInfo": {"eventName": "MainPage"}}, "no visitor identifier"),
    ({"GeneralInfo": {"eventName": "ProductPage", "cookies": {"sc": "v"}}, "ProductPage": {"productKey": "P",
                                                                                          "price": -1}},
     "non-negative"),
])
def test_bad_events_say_why(event, reason):
    with pytest.raises(EventError, match=reason):
        parse_web(event, NOW)


def _read(parse, text):
    try:
        return parse(text)
    except ValueError:
        return "refused"


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.text(alphabet="0123456789.,+-eE _\u00a0$\u0661\u0662\u00b2\u0966", max_size=12),
                 st.from_regex(r"\A[0-9]{0,6}\.?[0-9]{0,4}\Z"), st.text(max_size=8)))
def test_a_price_in_the_usual_form_reads_as_the_pattern_reads_it(text):
    """The plain "19.90" skips the pattern that reads "1 299,00 UAH": the same number, or the same refusal."""
    text = text.strip()
    assert _read(events.parse_number, text) == _read(events._formatted_number, text)


def test_prices_as_trackers_write_them():
    assert [events.parse_number(t) for t in ("19.90", "19", ".5", "5.", "19,90", "754 USD", "UAH 1 299.00")] == [
        19.9, 19.0, 0.5, 5.0, 19.9, 754.0, 1299.0]
    for text in ("", ".", "1.2.3", "1_000", "abc"):
        with pytest.raises(ValueError):
            events.parse_number(text)
