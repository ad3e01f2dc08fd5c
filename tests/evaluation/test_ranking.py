"""The vectorised top-k over score matrices, and the candidate path of ordinary recommenders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from recoms.evaluation import ranking
from recoms.evaluation.ranking import rank, top_k_rows
from recoms.recommenders.base import Candidates, Interactions, Items, Query, Recommender
from recoms.recommenders.baselines import Popularity
from tests.evaluation.builders import interactions


def test_top_k_rows_best_first_ties_by_lower_index_padding_for_non_candidates():
    scores = np.array([
        [0.1, 0.9, 0.5, 0.9],
        [-np.inf, 2.0, -np.inf, -np.inf],
    ])
    assert top_k_rows(scores, 3).tolist() == [[1, 3, 2], [1, -1, -1]]
    assert top_k_rows(scores, 6).tolist() == [[1, 3, 2, 0, -1, -1], [1, -1, -1, -1, -1, -1]]


class Fixed(Recommender):
    """Not a BatchScorer: candidates come as (ids, scores) lists."""

    name = "fixed"

    def fit(self, interactions: Interactions, items: Items) -> Fixed:
        return self

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        return [(np.array([3, 1, 2], np.int32), np.array([3.0, 2.0, 1.0], np.float32)) for _ in queries]


def test_rank_scatters_candidates_and_applies_exclusions_and_allowed_items():
    queries = [Query(), Query()]
    exclude = sp.csr_matrix(np.array([[0, 0, 0, 1, 0], [0, 0, 0, 0, 0]], np.float32))
    allowed = np.array([True, True, False, True, True])
    out = rank(Fixed(), queries, 3, 5, exclude=exclude, allowed=allowed)
    assert out.tolist() == [[1, -1, -1], [3, 1, -1]]


def test_rank_batches_large_query_sets(monkeypatch):
    monkeypatch.setattr(ranking, "MAX_BATCH", 2)
    model = Popularity().fit(interactions([(0, 2, 1), (1, 2, 1), (0, 1, 1)]), Items.bare(3))
    out = rank(model, [Query()] * 5, 2, 3)
    assert out.tolist() == [[2, 1]] * 5
