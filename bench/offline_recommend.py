"""Throughput of `recoms offline recommend` on a file it has never seen: 100,000 users by default.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/offline_recommend.py [--users 100000] [--algorithms personal,ease]

Writes a synthetic shop (a long-tailed item popularity, `--per-user` purchases per user over ~4 months,
two to five per order) with only the documented columns, then runs the same code as the CLI for each
algorithm: per-user queries for the ranking algorithms, one cart per user (the three purchases before its
newest) for the basket algorithms. Prints fit and scoring time and users (or carts) scored per second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from recoms.evaluation.offline import recommend_offline

RANKING = ["popularity", "itemknn", "als", "ease", "personal"]
BASKET = ["also_bought", "cross_sell"]


def write_shop(folder: Path, n_users: int, n_items: int, per_user: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), per_user)
    items = np.minimum(rng.zipf(1.3, len(users)) - 1, n_items - 1)
    position = np.tile(np.arange(per_user), n_users)
    order = position // rng.integers(2, 6, len(users))  # orders of 2-5 lines
    day = np.sort(rng.integers(0, 120, (n_users, per_user)), axis=1).ravel()
    frame = pd.DataFrame({
        "user_id": [f"u{u}" for u in users], "item_id": [f"p{i}" for i in items],
        "timestamp": 1_700_000_000 + day * 86_400 + position,
        "basket_id": [f"o{u}-{o}" for u, o in zip(users, order, strict=True)],
    })
    frame.to_parquet(folder / "interactions.parquet")
    (folder / "users.txt").write_text("\n".join(f"u{u}" for u in range(n_users)) + "\n")
    last = frame.groupby("user_id", sort=False).tail(4)  # the end of each user's history, minus the newest purchase
    last = last[last.groupby("user_id").cumcount(ascending=False) > 0]
    last.rename(columns={"user_id": "query_id"})[["query_id", "item_id"]].to_csv(folder / "carts.csv", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--per-user", type=int, default=20)
    parser.add_argument("--algorithms", default=",".join(RANKING + BASKET))
    args = parser.parse_args()
    table = Table(title=f"offline recommend, {args.users:,} users, {args.items:,} items, K = 10")
    for column in ("algorithm", "queries", "fit (s)", "scoring (s)", "queries / s", "writing (s)"):
        table.add_column(column, justify="left" if column == "algorithm" else "right")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        write_shop(folder, args.users, args.items, args.per_user)
        print(f"wrote {args.users * args.per_user:,} interactions in {time.perf_counter() - started:.1f} s")
        for name in args.algorithms.split(","):
            query = {"contexts": folder / "carts.csv"} if name in BASKET else {"users": folder / "users.txt"}
            run = recommend_offline(folder / "interactions.parquet", name, 10, folder / "out.csv", **query)
            rate = run.queries / run.score_seconds
            print(f"{name}: {run.queries:,} queries, {rate:,.0f}/s")
            table.add_row(name, f"{run.queries:,}", f"{run.fit_seconds:.1f}", f"{run.score_seconds:.1f}",
                          f"{rate:,.0f}", f"{run.write_seconds:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
