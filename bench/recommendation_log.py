"""What the recommendation log costs the serving path: the same recoms, with and without it, in one run.

    .venv/bin/python bench/recommendation_log.py [--seconds 8] [--rounds 3] [--connections 64]
                                                 [--endpoints similar,personal,mobile]

1. In process: `RecommendationLog.record` per call (µs), its writer running against a temporary store.
2. Served: the demo shop (SQLite) loaded once, two `recoms serve` on it, one with RECOMS_RECOMMENDATION_LOG
   =false, one with it on; wrk (Debian's `wrk`) drives both in alternating rounds on the same cores, on
   the ES-TOKEN routes (token chaining as in bench/serve.py, whose helpers this reuses) and the mobile
   SDK's route. Prints the medians and the cost in % of requests/s; the acceptance bound is 5 %.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve as bench

BOUND = 0.05


def micro(calls: int = 200_000) -> float:
    """µs per record() with the writer flushing to a temporary SQLite store meanwhile."""
    from recoms.services.attribution import RecommendationLog
    from recoms.store.db import make_engine, migrate

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/log.db")
        migrate(engine)
        log = RecommendationLog(engine, flush_seconds=0.2, max_pending=calls + 1)
        items = [f"P{i}" for i in range(10)]
        started = time.perf_counter()
        for i in range(calls):
            log.record(1, 3, i & 1, i, items)
        per_call = (time.perf_counter() - started) / calls * 1e6
        log.close()
        engine.dispose()
    return per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--endpoints", default="similar,personal,mobile")
    args = parser.parse_args()
    print(f"record(): {micro():.2f} µs per served list (in process, writer running)", flush=True)
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed for the served part (Debian: apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="recoms-logbench-"))
    env = {**os.environ, "RECOMS_LOG_LEVEL": "warning", "RECOMS_RATE_LIMIT_PER_KEY_PER_SECOND": "0",
           "RECOMS_RATE_LIMIT_PER_SITE_PER_SECOND": "0", "RECOMS_ARTIFACTS_DIR": str(work / "artifacts"),
           "RECOMS_DATABASE_URL": f"sqlite:///{work}/recoms.db"}
    print("loading the demo shop ...", flush=True)
    info = bench.load_demo(env)
    ds, products = info["datasources"], info["samples"]["products"]
    auth = "Basic " + base64.b64encode(f"shop:{info['api_key']}".encode()).decode()
    wanted = set(args.endpoints.split(","))
    endpoints = [e for e in (
        bench.Endpoint("similar", "GET", f"/api/v1/recoms/{ds['similar']}?products={products['out_of_stock']}",
                       token=True),
        bench.Endpoint("personal", "GET", f"/api/v1/recoms/{ds['personal']}", token=True),
        bench.Endpoint("mobile", "POST", f"/api/v1/recoms/{ds['also_bought']}/request",
                       body=json.dumps({"products": [products["in_cart"]]}).encode(),
                       headers={"Authorization": auth, "X-Reteno-Device-ID": "bench-device",
                                "Content-Type": "application/json"}),
    ) if e.name in wanted]
    servers, bases = [], {}
    try:
        for mode in ("off", "on"):
            port = bench.free_port()
            servers.append(subprocess.Popen(
                [str(bench.BIN / "recoms"), "serve", "--port", str(port)],
                env={**env, "RECOMS_RECOMMENDATION_LOG": "true" if mode == "on" else "false"}))
            bases[mode] = f"http://127.0.0.1:{port}"
        for base in bases.values():
            bench.wait_up(base)
        time.sleep(2)  # the accounts' models load in the background
        httpx.post(bases["on"] + "/api/v1/auth/contact/token", json={"userPseudoId": "bench-device"},
                   headers={"Authorization": auth})

        def token(i: int) -> str:
            return httpx.post(bases["on"] + "/api/v1/auth/contact/token", json={"externalCustomerId": f"bench-{i}"},
                              headers={"Authorization": auth}).json()["token"]

        rows = []
        for endpoint in endpoints:
            script = bench.lua(endpoint, work)
            rounds: dict[str, list[dict]] = {"off": [], "on": []}
            for round_no in range(args.rounds):
                for mode in ("off", "on"):
                    if endpoint.token:
                        per_thread = args.connections // args.threads + 2
                        for t in range(args.threads):
                            (work / f"tokens-{t}.txt").write_text("\n".join(
                                token((round_no * 2 + (mode == "on")) * 10_000 + t * 1000 + i)
                                for i in range(per_thread)) + "\n")
                    rounds[mode].append(bench.wrk(bases[mode], script, args.seconds, args.connections, args.threads))
            off = statistics.median(r["rps"] for r in rounds["off"])
            on = statistics.median(r["rps"] for r in rounds["on"])
            errors = sum(r["errors"] + r["non2xx"] for mode in rounds for r in rounds[mode])
            rows.append((endpoint.name, off, on, 1 - on / off, errors))
            print(f"{endpoint.name:<10} log off {off:>8,.0f} req/s   on {on:>8,.0f} req/s   "
                  f"cost {1 - on / off:>6.1%}   errors {errors}", flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    worst = max(cost for _n, _off, _on, cost, _e in rows)
    print(f"\nmachine: {os.cpu_count()} cores; wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, "
          f"{args.rounds} alternating rounds, medians. Worst cost {worst:.1%} (bound {BOUND:.0%}): "
          f"{'within' if worst <= BOUND else 'OVER'}")


if __name__ == "__main__":
    main()
