"""A row of docs/quality.md as a shop gets it, through `recoms offline recommend` itself.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/offline_quality.py data/quality/complete-journey last_basket_repeat

Writes the protocol's test fold training data as a file, runs `recoms offline recommend --algorithm
personal` on it for the fold's users (`--include-seen` under last_basket_repeat), and scores the CSV it
writes on the fold's test items: the figures `recoms evaluate` reports for personal as a shop gets it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from recoms.evaluation.data import load_dataset
from recoms.evaluation.metrics import ranking_metrics
from recoms.evaluation.splits import split


def main() -> None:
    folder, protocol = Path(sys.argv[1]), sys.argv[2]
    data = load_dataset(folder / "interactions.csv", folder / "items.csv")
    _, test = split(data.interactions, protocol, 0)
    train = test.train
    work = Path(tempfile.mkdtemp())
    frame = pd.DataFrame({"user_id": data.user_ids[train.user], "item_id": data.item_ids[train.item],
                          "timestamp": train.ts // 1000})
    if (train.basket >= 0).any():
        frame["basket_id"] = train.basket
    frame.to_csv(work / "train.csv", index=False)
    (work / "users.txt").write_text("\n".join(data.user_ids[test.users]) + "\n")
    command = [sys.executable, "-m", "recoms", "offline", "recommend", "--interactions", str(work / "train.csv"),
               "--algorithm", "personal", "--users", str(work / "users.txt"), "--k", "10",
               "--out", str(work / "out.csv")] + (["--include-seen"] if protocol == "last_basket_repeat" else [])
    print(subprocess.run(command, capture_output=True, text=True, check=True).stderr)
    out = pd.read_csv(work / "out.csv", dtype=str)
    index = data.item_index()
    row_of = {u: i for i, u in enumerate(data.user_ids[test.users])}
    ranked = np.full((len(test), 10), -1, np.int64)
    for user, group in out.groupby("user_id", sort=False):
        items = [index[i] for i in group.sort_values("rank", key=lambda r: r.astype(int))["item_id"]]
        ranked[row_of[user], :len(items)] = items
    print(protocol, {k: round(v, 4) for k, v in ranking_metrics(ranked, test.targets).items()})


if __name__ == "__main__":
    main()
