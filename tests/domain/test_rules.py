"""Rule parsing: every rule type is accepted, and a bad one is named by its path."""

from __future__ import annotations

import pytest

from recoms.domain.rules import (
    DEFAULT_FALLBACK,
    Conditional,
    ContactFieldRule,
    Diversity,
    FieldRule,
    RelativePriceRange,
    RuleError,
    parse_fallback,
    parse_filters,
    parse_rules,
    to_json,
)

GOOD = [
    {"type": "show_only", "field": "brand", "op": "eq", "values": ["Volt"]},
    {"type": "show_more", "field": "tags_color", "op": "in", "values": ["red"], "boost": 3},
    {"type": "do_not_show", "field": "price", "op": "gt", "values": [100]},
    {"type": "diversity", "field": "category", "max": 2},
    {"type": "relative_price_range", "min_pct": 100, "max_pct": 300},
    {"type": "contact_field", "contact_field": "size", "field": "tags_size", "mode": "show_only"},
    {"type": "conditional", "if": {"field": "category", "op": "in", "values": ["Bags"]},
     "then": [{"type": "show_only", "field": "category", "op": "in", "values": ["Shoes"]}]},
]


def test_every_rule_type_parses_and_round_trips():
    rules = parse_rules(GOOD)
    assert [type(r) for r in rules] == [FieldRule, FieldRule, FieldRule, Diversity, RelativePriceRange,
                                        ContactFieldRule, Conditional]
    assert parse_rules([to_json(r) for r in rules]) == rules


@pytest.mark.parametrize(("raw", "where", "message"), [
    ([{"type": "nope"}], "rules[0]", "type 'nope'"),
    ([GOOD[0], {"type": "show_only", "field": "brand", "op": "like", "values": ["x"]}], "rules[1]", "op 'like'"),
    ([{"type": "show_only", "field": "colour", "values": ["x"]}], "rules[0]", "unknown field 'colour'"),
    ([{"type": "show_only", "field": "price", "op": "lt", "values": ["cheap"]}], "rules[0]", "needs a number"),
    ([{"type": "diversity", "field": "brand"}], "rules[0]", "max must be a positive integer"),
    ([{"type": "relative_price_range", "min_pct": 300, "max_pct": 100}], "rules[0]", "min_pct is above max_pct"),
    ([{"type": "conditional", "if": {"field": "brand", "values": ["x"]}, "then": [{"type": "bad"}]}],
     "rules[0].then[0]", "type 'bad'"),
    ({"type": "show_only"}, "rules", "must be an array"),
])
def test_a_bad_rule_is_named_by_its_path(raw, where, message):
    with pytest.raises(RuleError) as err:
        parse_rules(raw)
    assert err.value.where == where and message in err.value.message


def test_filters_and_fallback():
    filters = parse_filters([{"name": "brand", "values": "Volt", "mode": "should"}])
    assert filters[0].values == ("Volt",) and filters[0].mode == "should"
    with pytest.raises(RuleError, match="mode"):
        parse_filters([{"name": "brand", "values": ["x"], "mode": "maybe"}])
    assert parse_fallback(None, {"bestsellers"}) == DEFAULT_FALLBACK
    assert parse_fallback(["bestsellers"], {"bestsellers"})[0].algorithm == "bestsellers"
    with pytest.raises(RuleError) as err:
        parse_fallback([{"algorithm": "magic"}], {"bestsellers"})
    assert err.value.where == "fallback[0]"
