"""The platform's contact and order records and the tracker forms its integrations send, in one normal form."""

from __future__ import annotations

import pytest

from recoms.domain.events import EventError, IgnoredEvent, parse_web
from recoms.domain.platform_records import RecordError, parse_contact, parse_date, parse_order

NOW = 1_790_000_000_000


def test_a_contact_record_in_every_shape():
    a = parse_contact({"channels": [{"value": "Jane@Example.com", "type": "email"}, {"value": " ", "type": "sms"}],
                       "externalCustomerId": 15, "firstName": " ", "lastName": "Doe",
                       "address": {"town": "Kyiv", "postcode": ""}, "fields": [{"id": 7, "value": "gold"}]})
    assert a.ids == {"external_id": "15", "email": "jane@example.com"}
    assert a.attributes == {"lastName": "Doe", "town": "Kyiv", "field_7": "gold"}
    b = parse_contact({"channels": {"type": "sms", "value": "+38 (050) 123-45-67"}})  # one object, not a list
    assert b.ids == {"phone": "380501234567"}
    c = parse_contact({"channels": [{"type": "email", "value": "x@y.z"}]}, contact_fields=["sms"])
    assert c.cleared == {"phone"}
    with pytest.raises(RecordError, match="needs externalCustomerId"):
        parse_contact({"firstName": "Nobody"})
    with pytest.raises(RecordError, match="not an email"):
        parse_contact({"channels": [{"type": "email", "value": "nope"}]})


@pytest.mark.parametrize(("text", "ms"), [
    ("2024-06-01T14:03:22Z", 1717250602000),
    ("2024-06-01T16:03:22+02:00", 1717250602000),
    ("2024-06-01T14:03:22.000000+00:00", 1717250602000),
    ("2024-06-01T14:03", 1717250580000),
    (None, NOW),
])
def test_dates_as_the_integrations_write_them(text, ms):
    assert parse_date(text, NOW) == ms


def test_an_order_with_line_totals_gets_unit_prices():
    ev = parse_order({"externalOrderId": 1001, "status": "DELIVERED", "totalCost": "95.00", "shipping": "15",
                      "discount": "", "items": [{"externalItemId": 58, "quantity": 2, "cost": "80"}],
                      "externalCustomerId": 15, "date": "2024-06-01T14:03:22Z"}, NOW)
    assert (ev.type, ev.ids, ev.ts) == ("PurchasedItems", {"external_id": "15"}, 1717250602000)
    assert ev.payload == {"order_number": "1001", "guid": None, "status": "delivered", "total": 95.0,
                          "items": [{"product_id": "58", "quantity": 2.0, "price": 40.0}]}
    unit = parse_order({"externalOrderId": "1", "totalCost": 45.98, "shipping": 10, "discount": 4,
                        "items": [{"externalItemId": "a", "quantity": 2, "cost": 19.99}]}, NOW)
    assert unit.payload["items"][0]["price"] == 19.99


def test_an_abandoned_cart_is_a_cart_and_bad_orders_say_why():
    cart = parse_order({"externalOrderId": "9", "status": "ABANDONED_SHOPPING_CART", "email": "a@b.c",
                        "items": [{"externalItemId": "x", "quantity": 1, "cost": 3}]}, NOW)
    assert cart.type == "StatusCart" and cart.payload["items"][0]["product_id"] == "x"
    for order, reason in [({"items": []}, "externalOrderId is required"),
                          ({"externalOrderId": "1", "status": "LOST"}, "status must be one of"),
                          ({"externalOrderId": "1", "items": [{"quantity": 1}]}, "externalItemId is required"),
                          ({"externalOrderId": "1", "totalCost": "lots"}, "totalCost must be a number"),
                          ({"externalOrderId": "1", "date": "yesterday"}, "not an ISO 8601 date")]:
        with pytest.raises(EventError, match=reason):
            parse_order(order, NOW)


def info(event: str, **more) -> dict:
    return {"eventName": event, "datetime": NOW, "cookies": {"sc": "v"}, **more}


def test_the_browser_forms_of_cart_order_and_impressions():
    cart = parse_web({"GeneralInfo": info("StatusCart"), "GUID": "g1",
                      "StatusCart": [{"productKey": 5, "price": "754 USD", "quantity": "2"}]}, NOW)
    assert cart.payload == {"guid": "g1", "items": [{"product_id": "5", "price": 754.0, "quantity": 2.0}]}
    order = parse_web({"GeneralInfo": info("PurchasedItems"), "OrderNumber": "123/2017", "GUID": "g1",
                       "PurchasedItems": [{"productKey": "5", "price": "10", "quantity": 1}]}, NOW)
    assert order.payload["order_number"] == "123/2017" and order.payload["items"][0]["product_id"] == "5"
    seen = parse_web({"GeneralInfo": info("ProductImpressions"),
                      "ProductImpression": [{"product_id": "430968", "container_type": "1253_r963v1317"}]}, NOW)
    assert seen.payload == {"items": [{"product_id": "430968", "container_type": "1253_r963v1317"}]}


def test_nested_product_and_category_and_customer_data_in_general_info():
    wish = parse_web({"GeneralInfo": info("AddToWishlist"),
                      "AddToWishlist": {"Product": {"productKey": "12", "price": "10.00", "isInStock": ""}}}, NOW)
    assert wish.payload["product_id"] == "12" and wish.payload["in_stock"] is None
    page = parse_web({"GeneralInfo": info("ProductPage"), "ProductPage": {
        "Product": {"productKey": "72354", "price": "754 USD", "isInStock": "1"}, "Tags": {"x": ["y"]}}}, NOW)
    assert (page.payload["product_id"], page.payload["price"], page.payload["in_stock"]) == ("72354", 754.0, True)
    category = parse_web({"GeneralInfo": info("CategoryPage"), "CategoryPage": {"Category": {"categoryKey": "Mugs"}}},
                         NOW)
    assert category.payload == {"category": "Mugs"}
    customer = parse_web({"GeneralInfo": info("CustomerData", externalCustomerId=42, user_email="o@e.com",
                                              user_name="Olena", siteId="s")}, NOW)
    assert customer.ids == {"external_id": "42", "email": "o@e.com", "cookie": "v"}
    assert customer.payload == {"ids": {"external_id": "42", "email": "o@e.com"}, "attributes": {"user_name": "Olena"}}


def test_anonymous_orders_and_carts_and_what_is_not_an_event():
    anonymous = parse_web({"GeneralInfo": {"eventName": "PurchasedItems", "cookies": {"sc": None}},
                           "PurchasedItems": {"OrderNumber": "1", "Products": [{"product_id": "a"}]}}, NOW)
    assert anonymous.anonymous and anonymous.payload["order_number"] == "1"
    with pytest.raises(EventError, match="no visitor identifier"):
        parse_web({"GeneralInfo": {"eventName": "ProductPage"}, "ProductPage": {"productKey": "a"}}, NOW)
    with pytest.raises(IgnoredEvent):
        parse_web({"orgId": 1, "typeCMS": "Shopify", "message": "ADD_DOMAIN_SUCCESS", "log_level": "INFO"}, NOW)
    link = parse_web({"externalCustomerId": "15", "webId": "sc-1", "orgId": 3, "email": "a@b.c"}, NOW)
    assert link.type == "CustomerData" and link.ids == {"external_id": "15", "email": "a@b.c", "cookie": "sc-1"}
