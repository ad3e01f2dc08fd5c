"""A/B assignment: stable per contact, close to the configured shares, and undisturbed by new challengers."""

from __future__ import annotations

import math

import pytest

from recoms.domain import variants
from recoms.domain.datasource import DataSourceError, build

BASE = {"name": "ds", "algorithm": "bestsellers", "size": 5}


def ds_with(shares: list[float], started: int = 1_700_000_000_000, ds_id: int = 7, **extra) -> object:
    body = {**BASE, "variants": [{"share": s, **extra} for s in shares]}
    return build(ds_id, 1, body, updated_at=1, experiment_started_at=started)


def test_without_variants_everyone_gets_the_control():
    ds = build(7, 1, BASE)
    assert {variants.choose(ds, c).id for c in range(100)} == {0}
    assert variants.choose(ds, None).datasource is ds


def test_assignment_is_stable_and_anonymous_calls_get_the_control():
    ds = ds_with([30, 20])
    first = [variants.choose(ds, c).id for c in range(1000)]
    again = [variants.choose(ds_with([30, 20]), c).id for c in range(1000)]  # another process, same config
    assert first == again
    assert variants.choose(ds, None).id == 0
    assert variants.choose(ds, 42).id == variants.choose(ds, "42").id  # a key is a key, typed or not


@pytest.mark.parametrize("shares", [[50.0], [30.0, 20.0], [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]])
def test_shares_over_10000_contacts_are_within_the_binomial_tolerance(shares):
    ds = ds_with(shares)
    n = 10_000
    seen: dict[int, int] = {}
    for contact in range(1, n + 1):
        vid = variants.choose(ds, contact).id
        seen[vid] = seen.get(vid, 0) + 1
    expected = {0: 100 - sum(shares), **{v.id: v.share for v in ds.variants}}
    for vid, pct in expected.items():
        p = pct / 100
        # 4.5 standard deviations of the binomial: a false alarm about once in 150,000 runs per variant.
        tolerance = 4.5 * math.sqrt(n * p * (1 - p))
        assert abs(seen.get(vid, 0) - n * p) <= tolerance, (vid, seen, expected)


def test_a_new_challenger_takes_its_share_from_the_control_only():
    one = ds_with([20])
    two = build(7, 1, {**BASE, "variants": [{"id": 1, "share": 20}, {"share": 30}]}, updated_at=1,
                experiment_started_at=1_700_000_000_000)
    moved = 0
    for contact in range(5000):
        before, after = variants.choose(one, contact).id, variants.choose(two, contact).id
        if before == 1:
            assert after == 1  # B's contacts stay in B
        moved += before == 0 and after == 2
    assert moved > 0


def test_a_new_experiment_shuffles_contacts():
    a, b = ds_with([50], started=1), ds_with([50], started=2)
    differ = sum(variants.choose(a, c).id != variants.choose(b, c).id for c in range(1000))
    assert 350 < differ < 650


def test_variants_inherit_what_they_do_not_override():
    body = {**BASE, "rules": [{"type": "diversity", "field": "brand", "max": 1}],
            "variants": [{"share": 40, "size": 3}, {"share": 10, "algorithm": "new_arrivals", "name": "Fresh"}]}
    ds = build(7, 1, body, updated_at=5)
    b, c = ds.variants
    assert (b.id, b.name, b.datasource.algorithm, b.datasource.size) == (1, "B", "bestsellers", 3)
    assert len(b.datasource.rules) == 1
    assert (c.id, c.name, c.datasource.algorithm, c.datasource.size) == (2, "Fresh", "new_arrivals", 5)
    assert c.datasource.params == {}
    assert ds.control_variant.share == 50
    # Serving caches its bindings by (id, updated_at): each variant has a key of its own.
    keys = {(v.datasource.id, v.datasource.updated_at) for v in variants.arms(ds)}
    assert len(keys) == 3
    assert ds.to_json()["variants"] == [{"id": 1, "name": "B", "share": 40, "size": 3},
                                        {"id": 2, "name": "Fresh", "share": 10, "algorithm": "new_arrivals"}]


def test_ids_are_never_reused():
    ds = build(7, 1, {**BASE, "variants": [{"share": 10}]}, variant_seq=4)
    assert ds.variants[0].id == 5 and ds.variant_seq == 5


@pytest.mark.parametrize("raw, field", [
    ("x", "variants"),
    ([{"share": 10}] * 8, "variants"),
    ([{"share": 0}], "variants[0].share"),
    ([{"share": "10"}], "variants[0].share"),
    ([{"share": 60}, {"share": 50}], "variants"),
    ([{"share": 10, "id": 1}, {"share": 10, "id": 1}], "variants[1].id"),
    ([{"share": 10, "name": ""}], "variants[0].name"),
    ([{"share": 10, "size": 0}], "variants[0].size"),
    ([{"share": 10, "algorithm": "magic"}], "variants[0].algorithm"),
    ([{"share": 10, "rules": [{"type": "hide"}]}], "variants[0].rules[0]"),
])
def test_bad_variants_name_their_field(raw, field):
    with pytest.raises(DataSourceError) as info:
        build(7, 1, {**BASE, "variants": raw})
    assert info.value.where == field
