"""Offline recommend on 100k users must score at least 2,000 users a second (run with -m slow).

    OPENBLAS_NUM_THREADS=1 pytest tests/evaluation/test_throughput.py -m slow -s -p no:xdist
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recoms.evaluation.offline import recommend_offline

N_USERS, N_ITEMS, PER_USER = 100_000, 20_000, 20


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("throughput")
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(N_USERS), PER_USER)
    items = np.minimum(rng.zipf(1.3, len(users)) - 1, N_ITEMS - 1)  # a long tail, like a shop
    pd.DataFrame({
        "user_id": [f"u{u}" for u in users], "item_id": [f"p{i}" for i in items],
        "timestamp": 1_700_000_000 + rng.integers(0, 10_000_000, len(users)),
    }).to_parquet(folder / "interactions.parquet")
    (folder / "users.txt").write_text("\n".join(f"u{u}" for u in range(N_USERS)) + "\n")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["popularity", "itemknn", "als", "ease"])
def test_offline_recommend_scores_2000_users_per_second(files, tmp_path, algorithm):
    run = recommend_offline(
        files / "interactions.parquet", algorithm, 10, tmp_path / "out.csv", users=files / "users.txt"
    )
    rate = run.queries / run.score_seconds
    print(
        f"\n{algorithm}: {run.queries} users, fit {run.fit_seconds:.1f}s, scoring {run.score_seconds:.1f}s "
        f"= {rate:,.0f} users/s, writing {run.write_seconds:.1f}s"
    )
    assert run.rows == N_USERS * 10
    assert rate >= 2000
