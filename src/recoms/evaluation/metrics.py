"""Top-K accuracy on full rankings: HR, Recall and NDCG (binary gains) per query, catalogue coverage."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def hit_matrix(ranked: np.ndarray, targets: sp.csr_matrix) -> np.ndarray:
    """Bool queries x K: is the item at each rank a target of its query (-1 padding never is)."""
    n, k = ranked.shape
    rows = np.repeat(np.arange(n), k)
    cols = ranked.ravel()
    valid = cols >= 0
    hits = np.zeros(n * k, bool)
    if valid.any():
        hits[valid] = np.asarray(targets[rows[valid], cols[valid]]).ravel() > 0
    return hits.reshape(n, k)


def per_query(ranked: np.ndarray, targets: sp.csr_matrix) -> dict[str, np.ndarray]:
    """HR@K, Recall@K (hits / |targets|) and NDCG@K (ideal DCG over min(K, |targets|) items) of each query."""
    n, k = ranked.shape
    hits = hit_matrix(ranked, targets)
    n_targets = np.diff(targets.indptr)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(n_targets, k)]
    return {
        "hr": hits.any(axis=1).astype(np.float64),
        "recall": hits.sum(axis=1) / np.maximum(n_targets, 1),
        "ndcg": np.divide(dcg, ideal, out=np.zeros(n), where=ideal > 0),
    }


def ranking_metrics(ranked: np.ndarray, targets: sp.csr_matrix) -> dict[str, float]:
    """Mean HR@K, Recall@K and NDCG@K over the queries (see `per_query`)."""
    if ranked.shape[0] == 0:
        return {"hr": 0.0, "recall": 0.0, "ndcg": 0.0}
    return {name: float(values.mean()) for name, values in per_query(ranked, targets).items()}


def coverage(ranked: np.ndarray, n_catalogue: int) -> float:
    """Share of the catalogue (the training items) recommended to at least one query."""
    if n_catalogue == 0:
        return 0.0
    return float(len(np.unique(ranked[ranked >= 0])) / n_catalogue)
