"""Each baseline recovers an obvious pattern in tiny data, and saves and loads as plain arrays."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recoms.evaluation.ranking import rank, score_matrix
from recoms.recommenders.base import VIEW, Items, Query
from recoms.recommenders.baselines import (
    ALS,
    BPR,
    EASE,
    CooccurrenceCount,
    ItemKNN,
    Popularity,
    UserFrequency,
)
from tests.evaluation.builders import interactions

# Items 0 and 1 are always consumed together, and so are 2 and 3; item 4 is the most popular.
PAIRS = interactions(
    [(u, 0, 1) for u in range(0, 6)] + [(u, 1, 2) for u in range(0, 6)]
    + [(u, 2, 1) for u in range(6, 12)] + [(u, 3, 2) for u in range(6, 12)]
    + [(u, 4, 3) for u in range(0, 12, 2)] + [(u, 4, 3) for u in range(1, 12, 4)]
)


def history(*items: int) -> Query:
    return Query(history_items=np.array(items, np.int32), history_kinds=np.full(len(items), 3, np.int8))


def best(model, query: Query, exclude_history: bool = True) -> int:
    seen = sp.csr_matrix((np.ones(len(query.history_items)), (np.zeros(len(query.history_items), int),
                          query.history_items)), shape=(1, 5)) if exclude_history else None
    return int(rank(model, [query], 1, 5, exclude=seen)[0, 0])


@pytest.mark.parametrize("cls", [ItemKNN, EASE, CooccurrenceCount])
def test_item_to_item_baselines_recommend_the_co_consumed_item(cls):
    model = cls().fit(PAIRS, Items.bare(5))
    assert best(model, history(0)) == 1
    assert best(model, history(3)) == 2
    assert best(model, Query(context=np.array([2], np.int32))) == 3


def test_popularity_ignores_the_query():
    model = Popularity().fit(PAIRS, Items.bare(5))
    assert best(model, history(0), exclude_history=False) == 4
    assert best(model, Query()) == 4


def test_user_frequency_ranks_the_users_most_bought_first_then_popularity():
    model = UserFrequency().fit(PAIRS, Items.bare(5))
    query = Query(
        history_items=np.array([2, 3, 3, 0, 3, 2, 1], np.int32),
        history_kinds=np.array([3, 3, 3, 3, 3, 3, VIEW], np.int8),  # a view is no purchase
    )
    assert rank(model, [query], 5, 5)[0].tolist() == [3, 2, 0, 4, 1]


def test_cooccurrence_scores_are_basket_counts():
    data = interactions([
        (0, 0, 1, 3, 0), (0, 1, 1, 3, 0), (0, 2, 1, 3, 0),
        (1, 0, 1, 3, 1), (1, 1, 1, 3, 1),
        (2, 0, 1, 3, 2), (2, 2, 1, 3, 2), (2, 0, 2, 3, 3), (2, 2, 2, 3, 3),
    ])
    model = CooccurrenceCount().fit(data, Items.bare(3))
    scores = model.score_batch([Query(context=np.array([0], np.int32))]).toarray()
    assert scores.tolist() == [[0.0, 2.0, 3.0]]


def test_ease_restricts_to_the_most_frequent_items():
    model = EASE(max_items=4).fit(PAIRS, Items.bare(5))
    assert len(model.kept) == 4 and "4 most frequent of 5" in model.note
    scores = score_matrix(model, [history(0)], 5)
    assert np.isneginf(scores[0]).sum() == 1  # the dropped item is no candidate


@pytest.mark.parametrize("cls", [ALS, BPR])
def test_factorisations_run_on_tiny_data_and_the_harness_excludes_seen_items(cls):
    model = cls(factors=4, iterations=5, seed=1).fit(PAIRS, Items.bare(5))
    queries = [history(0), history(2, 3), Query()]
    scores = model.score_batch(queries)
    assert scores.shape == (3, 5) and np.isfinite(scores).all()
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 0]], np.float32))
    ranked = rank(model, queries, 5, 5, exclude=seen)
    assert 0 not in ranked[0] and not {2, 3} & set(ranked[1].tolist())
    assert (ranked[0] >= 0).sum() == 4 and (ranked[2] >= 0).sum() == 5
    again = cls(factors=4, iterations=5, seed=1).fit(PAIRS, Items.bare(5)).score_batch(queries)
    np.testing.assert_allclose(again, scores, rtol=1e-5)  # seeded


def test_als_folds_a_history_in_like_its_own_user_step():
    model = ALS(factors=4, iterations=10, seed=0).fit(PAIRS, Items.bare(5))
    assert best(model, history(0)) in (1, 4)
    assert best(model, history(2)) in (3, 4)


@pytest.mark.parametrize("cls", [Popularity, UserFrequency, ItemKNN, CooccurrenceCount, EASE, ALS, BPR])
def test_state_round_trip_scores_alike(cls):
    model = cls().fit(PAIRS, Items.bare(5))
    arrays = {name: np.asarray(value) for name, value in model.state().items()}
    loaded = cls().load_state(arrays, Items.bare(5))
    queries = [history(0, 4), Query(context=np.array([2], np.int32))]
    np.testing.assert_allclose(score_matrix(loaded, queries, 5), score_matrix(model, queries, 5), rtol=1e-5)


def test_recommend_returns_the_candidates_of_score_batch():
    model = ItemKNN().fit(PAIRS, Items.bare(5))
    (ids, scores), = model.recommend([history(0)])
    assert 1 in ids.tolist() and scores.dtype == np.float32
    (ids, _), = EASE(max_items=4).fit(PAIRS, Items.bare(5)).recommend([history(0)])
    assert len(ids) == 4


def test_unknown_parameters_are_refused():
    with pytest.raises(ValueError, match="unknown parameter"):
        ALS(factor=3)
