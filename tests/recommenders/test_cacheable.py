"""What serving may reuse (services/answer_cache): every algorithm that declares its answers reusable gives
the same answer whenever, and to whomever, it is asked (built-ins and installed plugins alike)."""

from __future__ import annotations

import numpy as np
import pytest

from recoms.recommenders.base import PURCHASE, VIEW, Query
from recoms.recommenders.registry import algorithm_names, get_algorithm
from tests.recommenders.tiny import DAY, NOW, TinyShop, product

SHOP = TinyShop([product(f"P{i}", ("Shoes", "Bags")[i % 2], price=10 + i) for i in range(8)])
for day, user in enumerate("abcdef"):
    SHOP.buy_together(user, f"P{day % 8}", f"P{(day + 1) % 8}", day=day)
    SHOP.add(user, f"P{(day + 3) % 8}", "view", day)


def _answer(model, catalog, now_ms: int, context: list[str]) -> tuple[list[int], list[float]]:
    query = Query(context=catalog.indices(context), categories=catalog.category_codes(["Shoes"]), now_ms=now_ms)
    ids, scores = model.recommend([query])[0]
    return list(map(int, ids)), [round(float(s), 6) for s in scores]


@pytest.mark.parametrize("name", algorithm_names())
def test_a_reusable_answer_does_not_depend_on_when_it_is_asked(name):
    cls = get_algorithm(name)
    if not (cls.cacheable or cls.cacheable_without_history):
        pytest.skip(f"{name} declares its answers its own to each request")
    catalog, model = SHOP.fit(name)
    context = [] if cls.needs is None else ["P1"]
    first = _answer(model, catalog, NOW, context)
    assert _answer(model, catalog, NOW + 40 * DAY, context) == first  # empty history, as a new visitor's
    assert _answer(model, catalog, NOW, context) == first
    assert np.all(np.isfinite(first[1]))


@pytest.mark.parametrize("name", [name for name in algorithm_names() if get_algorithm(name).uses_history])
def test_an_answer_kept_per_history_depends_only_on_that_history(name):
    """`cacheable_with_history`: a returning customer's answer is kept until their history changes, so it
    may not depend on when it is asked, and a different history is a different answer."""
    cls = get_algorithm(name)
    if not cls.cacheable_with_history:
        pytest.skip(f"{name} does not declare its answer a function of the history alone")
    catalog, model = SHOP.fit(name)

    def answer(now_ms: int, history: list[tuple[str, int, int]]) -> tuple[list[int], list[float]]:
        ids, scores = model.recommend([Query(
            context=catalog.indices([] if cls.needs is None else ["P1"]),
            history_items=catalog.indices([p for p, _, _ in history]),
            history_kinds=np.array([k for _, k, _ in history], np.int8),
            history_ts=np.array([t for _, _, t in history], np.int64), now_ms=now_ms)])[0]
        return list(map(int, ids)), [round(float(s), 6) for s in scores]

    history = [("P2", VIEW, NOW - DAY), ("P5", PURCHASE, NOW - 2 * DAY), ("P6", VIEW, NOW - 3 * DAY)]
    first = answer(NOW, history)
    assert first[0] and np.all(np.isfinite(first[1]))
    assert answer(NOW + 40 * DAY, history) == first == answer(NOW, history)
    assert answer(NOW, [("P7", VIEW, NOW), *history]) != first
