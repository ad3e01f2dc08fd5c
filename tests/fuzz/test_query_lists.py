"""The ES-TOKEN route's query parser reads a query string as Starlette's QueryParams reads it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from recoms.services.recoms import QueryLists, parse_query
from tests.fuzz.strategies import FUZZ

# Query strings as clients write them, and as they mangle them: repeated names, blank values, fields
# without "=", empty fields, percent escapes (some broken), plus signs and latin-1 bytes.
PIECES = st.sampled_from(["products", "category", "categories", "filter.include.brand", "x", "=", "&", "&&",
                          "%2C", "%", "%zz", "+", ",", "a", "1", "é", "%C3%A9", " "])
QUERIES = st.lists(PIECES, max_size=12).map(lambda parts: "".join(parts).encode("latin-1")) | st.binary(max_size=40)


@FUZZ
@given(QUERIES)
def test_query_lists_match_starlette(raw):
    ours, theirs = QueryLists(raw), QueryParams(raw)
    assert list(ours) == list(dict.fromkeys(theirs.keys()))
    for name in theirs:
        assert ours.getlist(name) == theirs.getlist(name)
        assert ours.get(name) == theirs.get(name)
    assert ours.getlist("absent") == [] and ours.get("absent") is None and ours.get("absent", "x") == "x"
    assert _parsed(lambda: parse_query(ours)) == _parsed(lambda: parse_query(theirs))


def _parsed(parse):
    try:
        return parse()
    except Exception as exc:  # the same refusal either way
        return type(exc), str(exc)


def test_a_plain_query():
    query = QueryLists(b"products=1,2&products=3&category=&filter.include.brand=A&flag")
    assert parse_query(query).products == ["1", "2", "3"]
    assert query.getlist("category") == [""] and query.getlist("flag") == [""]
    assert list(query) == ["products", "category", "filter.include.brand", "flag"]
