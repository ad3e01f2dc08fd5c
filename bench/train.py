"""Training benchmark: the generated 1,000,000-event / 100,000-product shop, trained in process.

    OPENBLAS_NUM_THREADS=2 .venv/bin/python bench/train.py [--events 1000000] [--products 100000]
        [--tuning 0,2] [--rounds 1] [--work /tmp/recoms-bench-train]

The shop (`bench/train_shop.py`, one seed) is written once into a SQLite store under `--work` and reused.
Each measurement runs `train_account` in a fresh Python process (so its peak RSS is training's own): the
load from the store, each algorithm's fit at the shop's regime defaults, the tuning within
`--tuning` times the untuned time (0: none; the settings' default is `tuning_time_factor`), the snapshot.
Prints wall seconds per phase and algorithm, the process's CPU seconds (on a busy machine wall time
overstates the work), and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))


def prepare(work: Path, n_events: int, n_products: int, seed: int) -> tuple[Path, int]:
    """The store with the generated shop (built once per size and seed)."""
    import train_shop

    from recoms.services.accounts import create_account
    from recoms.store.db import make_engine, migrate

    db = work / f"shop-{n_events}-{n_products}-{seed}.sqlite"
    marker = db.with_suffix(".json")
    if marker.exists():
        return db, json.loads(marker.read_text())["account_id"]
    db.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    shop = train_shop.generate(n_products, n_events, seed=seed)
    generated = time.perf_counter() - t0
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    account_id = create_account(engine, "bench")["account_id"]
    engine.dispose()
    train_shop.load_store(shop, str(db), account_id)
    print(f"generated in {generated:.1f}s, stored in {time.perf_counter() - t0 - generated:.1f}s: {db}")
    marker.write_text(json.dumps({"account_id": account_id}))
    return db, account_id


def child(db: Path, account_id: int, tuning: float, artifacts: Path) -> None:
    """One training run; prints its metadata and peak RSS as JSON on the last line."""
    from recoms.store.db import make_engine
    from recoms.training.train import train_account

    engine = make_engine(f"sqlite:///{db}")
    t0 = time.perf_counter()
    meta = train_account(engine, artifacts, account_id, window_days=3650, tuning_factor=tuning)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024
    print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak_mb,
                      "seconds": meta["seconds"], "items": meta["items"],
                      "users": meta["users"], "interactions": meta["interactions"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tuning", default="0,2", help="tuning time factors to measure, comma-separated")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/recoms-bench-train"))
    parser.add_argument("--child", nargs=3, metavar=("DB", "ACCOUNT", "TUNING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        db, account, tuning = args.child
        child(Path(db), int(account), float(tuning), args.work / "artifacts")
        return
    db, account_id = prepare(args.work, args.events, args.products, args.seed)
    for factor in (float(f) for f in args.tuning.split(",")):
        for round_no in range(args.rounds):
            load = os.getloadavg()[0]
            out = subprocess.run([sys.executable, __file__, "--work", str(args.work), "--child", str(db),
                                  str(account_id), str(factor)], check=True, capture_output=True, text=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            seconds = result["seconds"]
            print(f"tuning x{factor:g} round {round_no + 1}: {result['wall']:.1f}s wall ({result['cpu']:.1f}s CPU), "
                  f"peak RSS "
                  f"{result['peak_mb'] / 1024:.2f} GB, load average before {load:.2f} "
                  f"({result['interactions']} interactions, {result['items']} items, {result['users']} users)")
            print("  " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))


if __name__ == "__main__":
    main()
