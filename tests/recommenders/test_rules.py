"""Every rule and request filter of SPEC §5, on a shop whose bestseller order is known: p1 > p2 > ... > p8."""

from __future__ import annotations

import pytest

from tests.recommenders.tiny import TinyShop, product

SHOP = [
    ("p1", "Clothing > Women > Dresses", 50, "Volt", {"size": "M", "color": "red"}),
    ("p2", "Clothing > Women > Dresses", 80, "Nord", {"size": "S", "color": "blue"}),
    ("p3", "Clothing > Men > Shirts", 30, "Volt", {"size": "M,L", "color": "red"}),
    ("p4", "Clothing > Men > Shirts", 120, "Acme", {"size": "L", "color": "green"}),
    ("p5", "Bags > Totes", 200, "Volt", {"size": "", "color": "black"}),
    ("p6", "Bags > Totes", 60, "Nord", {"size": "", "color": "red"}),
    ("p7", "Shoes > Boots", 90, "Acme", {"size": "M", "color": "brown"}),
    ("p8", "Shoes > Boots", 100, "Nord", {"size": "S", "color": "black"}),
]


def shop(out_of_stock: tuple[str, ...] = ()) -> TinyShop:
    items = [product(pid, cat, price, brand=brand, tags=tags, in_stock=pid not in out_of_stock)
             for pid, cat, price, brand, tags in SHOP]
    s = TinyShop(items)
    for rank, (pid, *_rest) in enumerate(SHOP):
        for u in range(20 - 2 * rank):
            s.buy_together(f"{pid}-{u}", pid, day=25)
    return s


def best(rules=None, filters=None, size=8, products=(), contact=None, out_of_stock=(), fallback=False):
    return shop(out_of_stock).recommend("bestsellers", list(products), size=size, rules=rules, filters=filters,
                                        contact=contact, fallback=fallback)


def test_the_baseline_order():
    assert best() == ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"]


@pytest.mark.parametrize(("rule", "expected"), [
    ({"field": "brand", "op": "eq", "values": ["volt"]}, ["p1", "p3", "p5"]),
    ({"field": "brand", "op": "ne", "values": ["Volt"]}, ["p2", "p4", "p6", "p7", "p8"]),
    ({"field": "brand", "op": "in", "values": ["Acme", "Nord"]}, ["p2", "p4", "p6", "p7", "p8"]),
    ({"field": "price", "op": "lt", "values": [60]}, ["p1", "p3"]),
    ({"field": "price", "op": "lte", "values": [60]}, ["p1", "p3", "p6"]),
    ({"field": "price", "op": "gt", "values": [100]}, ["p4", "p5"]),
    ({"field": "price", "op": "gte", "values": [100]}, ["p4", "p5", "p8"]),
    ({"field": "category", "op": "in", "values": ["women"]}, ["p1", "p2"]),  # any level, any case
    ({"field": "category", "op": "eq", "values": ["Clothing"]}, ["p1", "p2", "p3", "p4"]),
    ({"field": "category", "op": "contains", "values": ["shirt"]}, ["p3", "p4"]),
    ({"field": "tags_color", "op": "eq", "values": ["red"]}, ["p1", "p3", "p6"]),
    ({"field": "name", "op": "contains", "values": ["p7"]}, ["p7"]),
])
def test_show_only(rule, expected):
    assert best([{"type": "show_only", **rule}]) == expected


def test_do_not_show():
    assert best([{"type": "do_not_show", "field": "brand", "op": "eq", "values": ["Volt"]}]) == [
        "p2", "p4", "p6", "p7", "p8"]


def test_show_more_boosts_without_excluding():
    ranked = best([{"type": "show_more", "field": "category", "op": "in", "values": ["Boots"], "boost": 10}])
    assert ranked[:2] == ["p7", "p8"] and len(ranked) == 8


def test_diversity_caps_each_value():
    ranked = best([{"type": "diversity", "field": "brand", "max": 1}])
    assert ranked == ["p1", "p2", "p4"]
    ranked = best([{"type": "diversity", "field": "category", "max": 1}])  # leaf categories
    assert ranked == ["p1", "p3", "p5", "p7"]
    ranked = best([{"type": "diversity", "field": "tags_color", "max": 1}], size=3)
    assert ranked == ["p1", "p2", "p4"]


def test_relative_price_range_around_the_context_product():
    ranked = best([{"type": "relative_price_range", "min_pct": 100, "max_pct": 200}], products=["p6"])
    assert ranked == ["p2", "p4", "p7", "p8"]  # 60..120, not p6 itself


def test_contact_field_rules():
    rule = {"type": "contact_field", "contact_field": "size", "field": "tags_size", "mode": "show_only"}
    assert best([rule], contact={"size": "M"}) == ["p1", "p3", "p7"]  # p3 is "M,L"
    assert best([rule], contact={}) == best()  # nothing known: show_only is skipped
    boost = {**rule, "mode": "show_more", "boost": 100}
    assert best([boost], contact={"size": "S"})[:2] == ["p2", "p8"]
    hide = {**rule, "mode": "do_not_show"}
    assert "p1" not in best([hide], contact={"size": "M"})


def test_conditional_rules_test_the_context_products():
    rule = {"type": "conditional", "if": {"field": "category", "op": "in", "values": ["Bags"]},
            "then": [{"type": "show_only", "field": "category", "op": "in", "values": ["Shoes"]}]}
    assert best([rule], products=["p5"]) == ["p7", "p8"]
    assert best([rule], products=["p1"]) == ["p2", "p3", "p4", "p5", "p6", "p7", "p8"]


def test_out_of_stock_never_unless_a_rule_allows_it():
    assert "p1" not in best(out_of_stock=("p1",))
    allowed = [{"type": "show_only", "field": "isInStock", "op": "in", "values": [0, 1]}]
    assert best(allowed, out_of_stock=("p1",))[0] == "p1"


def test_request_filters_include_exclude_and_should():
    assert best(filters=[{"name": "brand", "values": ["Nord"], "mode": "include"}]) == ["p2", "p6", "p8"]
    assert best(filters=[{"name": "brand", "values": ["Nord", "Acme"], "mode": "exclude"}]) == ["p1", "p3", "p5"]
    ranked = best(filters=[{"name": "tags_color", "values": ["black"], "mode": "should"}])
    assert ranked[:2] == ["p5", "p8"] and len(ranked) == 8  # matches first, then the rest


def test_rules_and_filters_hold_for_the_fallback_too():
    # also_bought has nothing for p2; bestsellers fill in, still without Volt and only Clothing.
    s = shop()
    ranked = s.recommend("also_bought", ["p2"], size=8,
                         rules=[{"type": "do_not_show", "field": "brand", "op": "eq", "values": ["Volt"]}],
                         filters=[{"name": "category", "values": ["Clothing"], "mode": "include"}])
    assert ranked == ["p4"]
