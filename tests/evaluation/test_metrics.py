"""Metrics on cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recoms.evaluation.metrics import coverage, hit_matrix, ranking_metrics


def targets(rows: list[list[int]], n_items: int = 10) -> sp.csr_matrix:
    data = np.zeros((len(rows), n_items), np.float32)
    for r, items in enumerate(rows):
        data[r, items] = 1.0
    return sp.csr_matrix(data)


def test_one_target_found_second():
    m = ranking_metrics(np.array([[4, 2, 7]]), targets([[2]]))
    assert m["hr"] == 1.0 and m["recall"] == 1.0
    assert m["ndcg"] == pytest.approx(1 / math.log2(3))


def test_ideal_dcg_runs_over_min_k_and_the_number_of_targets():
    # targets {1, 3, 5}, hits at ranks 1 and 3 of K=3: DCG = 1 + 1/2, ideal = 1 + 1/log2(3) + 1/2
    m = ranking_metrics(np.array([[1, 2, 3]]), targets([[1, 3, 5]]))
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["ndcg"] == pytest.approx(1.5 / (1 + 1 / math.log2(3) + 0.5))
    # five targets but K=2, both hit: ideal DCG over min(K, 5) = 2 items, NDCG = 1
    m = ranking_metrics(np.array([[0, 1]]), targets([[0, 1, 2, 3, 4]]))
    assert m["ndcg"] == pytest.approx(1.0) and m["recall"] == pytest.approx(2 / 5)


def test_means_over_queries_and_misses():
    m = ranking_metrics(np.array([[0, 1], [2, 3]]), targets([[1], [9]]))
    assert m["hr"] == 0.5
    assert m["recall"] == 0.5
    assert m["ndcg"] == pytest.approx((1 / math.log2(3)) / 2)


def test_padding_never_hits():
    hits = hit_matrix(np.array([[3, -1, -1]]), targets([[3, 9]]))
    assert hits.tolist() == [[True, False, False]]


def test_coverage_is_the_share_of_the_catalogue_recommended():
    assert coverage(np.array([[0, 1], [1, 2], [-1, -1]]), 10) == pytest.approx(0.3)
    assert coverage(np.zeros((0, 2), np.int32), 0) == 0.0


def test_no_queries_scores_zero():
    assert ranking_metrics(np.zeros((0, 5), np.int32), targets([])) == {"hr": 0.0, "recall": 0.0, "ndcg": 0.0}
