"""The ES-TOKEN route's query parser reads a query string as Starlette's QueryParams reads it, and
`ParsedQueries` keeps what it parsed within its bound."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from recoms.errors import BadRequest
from recoms.services.recoms import MAX_CONTEXT, ParsedQueries, QueryLists, parse_query
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


@FUZZ
@given(st.lists(QUERIES, max_size=30))
def test_parsed_queries_answer_as_the_parser_and_keep_at_most_their_bound(raws):
    queries = ParsedQueries(entries=8)
    for raw in raws * 2:  # each query again, kept or not
        assert _parsed(lambda raw=raw: queries.parse(raw)) == _parsed(lambda raw=raw: parse_query(QueryLists(raw)))
        assert len(queries._parsed) <= 8


def test_a_parsed_query_is_kept_shared_and_read_only_and_a_refused_or_long_one_is_not_kept():
    queries = ParsedQueries()
    first = queries.parse(b"products=1,2&category=Home")
    assert first.products == ["1", "2"] and first.categories == ["Home"]
    assert queries.parse(b"products=1,2&category=Home") is first  # parsed once
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.products = ["3"]
    too_many = b"&".join(b"products=%d" % i for i in range(MAX_CONTEXT + 1))
    for _ in range(2):
        with pytest.raises(BadRequest):
            queries.parse(too_many)
    long = b"products=" + b"x" * ParsedQueries.MAX_KEPT_QUERY
    assert queries.parse(long).products == ["x" * ParsedQueries.MAX_KEPT_QUERY]
    assert queries.parse(long) is not queries.parse(long)
    assert set(queries._parsed) == {b"products=1,2&category=Home"}
