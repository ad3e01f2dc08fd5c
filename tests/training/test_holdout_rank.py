"""Held-out ranking: each query's candidates best first, ties to the lower index, excluded items out."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recoms.training.holdout import rank


@pytest.mark.parametrize("seed", range(20))
def test_each_query_ranks_its_candidates_by_score_then_lower_index(seed):
    rng = np.random.default_rng(seed)
    n, n_items, k = int(rng.integers(1, 40)), int(rng.integers(5, 60)), int(rng.integers(1, 12))
    candidates = []
    for _ in range(n):
        ids = rng.choice(n_items + 3, int(rng.integers(0, min(n_items, 30))), replace=False).astype(np.int32)
        values = (rng.integers(-2, 5, len(ids)) / 2).astype(np.float32)  # ties, zeros, negatives
        values[rng.random(len(ids)) < 0.05] = np.nan  # not finite: never ranked
        values[rng.random(len(ids)) < 0.05] = -0.0
        candidates.append((ids, values))
    exclude = sp.csr_matrix((rng.random((n, n_items)) < 0.15).astype(np.float32))
    popular = np.zeros(0, np.int64)  # nothing to fill with: the rows show the ranking alone
    got = rank(candidates, k, n_items, exclude, popular)
    for q, (ids, values) in enumerate(candidates):
        ok = (ids < n_items) & np.isfinite(values)
        ids, values = ids[ok], values[ok]
        ok = exclude[q].toarray().ravel()[ids] == 0
        ids, values = ids[ok], values[ok]
        want = [int(i) for _, i in sorted(zip((-values).tolist(), ids.tolist(), strict=True))][:k]
        assert got[q].tolist() == want + [-1] * (k - len(want))
