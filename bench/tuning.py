"""What tuning costs: training's fits with and without it, on a store's account or on data set files.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/tuning.py --db sqlite:///var/recoms.db --account 1
    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/tuning.py --data data/quality/complete-journey

Runs `training.train.fit_models` (what `recoms train` runs after loading the store: every algorithm at its
regime's defaults, then the tuning) in a fresh process per `--tuning` factor, so each peak RSS is its
own. Prints per factor the untuned seconds, the tuning seconds and their ratio, the peak RSS, and what
tuning chose per algorithm with its held-out NDCG@10 next to popularity and buying again.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def load(args: argparse.Namespace):
    if args.data:
        from pathlib import Path

        from recoms.evaluation.data import load_dataset

        folder = Path(args.data)
        data = load_dataset(folder / "interactions.csv", folder / "items.csv")
        return data.interactions, data.items
    import sqlalchemy as sa

    from recoms.training import data as training_data

    with sa.create_engine(args.db).connect() as conn:
        data = training_data.load(conn, args.account, 365)
    return data.interactions, data.catalog.items


def child(args: argparse.Namespace, factor: float) -> dict:
    from recoms.training.train import fit_models

    inter, items = load(args)
    started = time.perf_counter()
    fitted = fit_models(inter, items, [], factor)
    return {
        "factor": factor, "interactions": len(inter), "regime": fitted.regime.name,
        "untuned_s": round(fitted.untuned_seconds, 1), "tuning_s": round(fitted.tuning_seconds, 1),
        "ratio": round(fitted.tuning_seconds / max(fitted.untuned_seconds, 1e-9), 2),
        "total_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "fits_s": fitted.timings,
        "tuned": {name: {"status": q["status"], "chosen": q["chosen"], "seconds": q["seconds"],
                         "held_out": q["figures"]} for name, q in fitted.quality.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="a folder with interactions.csv and items.csv")
    parser.add_argument("--db", help="a store's URL (with --account)")
    parser.add_argument("--account", type=int, default=1)
    parser.add_argument("--tuning", default="0,2", help="comma-separated time factors")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args, args.child)))
        return
    base = [sys.executable, __file__] + (["--data", args.data] if args.data else
                                         ["--db", args.db, "--account", str(args.account)])
    for factor in (float(f) for f in args.tuning.split(",")):
        out = subprocess.run([*base, "--child", str(factor)], check=True, stdout=subprocess.PIPE, text=True).stdout
        print(json.dumps(json.loads(out.splitlines()[-1])), flush=True)


if __name__ == "__main__":
    main()
