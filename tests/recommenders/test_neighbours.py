"""Neighbour lists: each row keeps its k largest entries, ties to the earlier entry of the row."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recoms.recommenders.neighbours import top_k_per_row


@pytest.mark.parametrize("seed", range(20))
def test_each_row_keeps_its_k_largest_with_ties_to_the_earlier_entry(seed):
    rng = np.random.default_rng(seed)
    n_rows, n_cols, k = int(rng.integers(1, 25)), int(rng.integers(8, 40)), int(rng.integers(1, 6))
    dense = rng.integers(-2, 4, (n_rows, n_cols)).astype(np.float32) / 2  # ties, zeros, negatives, -0.0
    dense[rng.random(dense.shape) < 0.2] = 0.0
    dense[rng.random(dense.shape) < 0.1] = -0.0
    m = sp.csr_matrix(dense)
    got = top_k_per_row(m, k)
    for r in range(n_rows):
        cols = m.indices[m.indptr[r]:m.indptr[r + 1]]
        vals = m.data[m.indptr[r]:m.indptr[r + 1]]
        live = vals != 0
        cols, vals = cols[live], vals[live]
        best = np.argsort(-vals, kind="stable")[:k]
        want = dict(zip(cols[best].tolist(), vals[best].tolist(), strict=True))
        row = got.getrow(r)
        assert dict(zip(row.indices.tolist(), row.data.tolist(), strict=True)) == want
