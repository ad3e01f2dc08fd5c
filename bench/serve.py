"""Serving benchmark: `/api/v1/recoms` against a trivial endpoint returning the same bytes, same server.

    .venv/bin/python bench/serve.py [--seconds 10] [--connections 64] [--rounds 3] [--datasource similar]

Loads the demo shop into a temporary store, starts the real application under uvicorn (one worker)
with one extra raw route, `/_bench/static`, that returns a recorded recoms response body, then drives
both with wrk (Debian's `wrk`; a token-chaining Lua script gives every request a fresh ES-TOKEN) in
alternating rounds. Prints requests/s, p50 and p99 per endpoint (medians over the rounds) and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk_script(seed_dir: Path, path: str, name: str) -> Path:
    """A wrk script: each thread owns its seed tokens and chains each response's ES-TOKEN into the next.

    Both endpoints run the same Lua per request (a header sent, a header read), so the ratio measures
    the server, not wrk; the static route returns no token and its caller reuses the one it sent.
    """
    script = seed_dir / f"{name}.lua"
    script.write_text(f"""
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local queue = {{}}
local last = nil
function init(args)
  local f = io.open("{seed_dir}/tokens-" .. id .. ".txt")
  for line in f:lines() do queue[#queue + 1] = line end
  f:close()
end
function request()
  last = table.remove(queue)
  return wrk.format("GET", "{path}", {{["ES-TOKEN"] = last}})
end
function response(status, headers, body)
  queue[#queue + 1] = headers["es-token"] or last
end
done = function(summary, latency, requests)
  io.write(string.format('{{"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "errors": %d, "non2xx": %d}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
""")
    return script


def run_wrk(base: str, path: str, script: Path, seconds: int, connections: int, threads: int) -> dict:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script),
         base + path],
        capture_output=True, text=True, check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--datasource", default="similar", help="which demo data source to query")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (Debian: apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="recoms-bench-"))
    env = {**os.environ, "RECOMS_DATABASE_URL": f"sqlite:///{work}/recoms.db", "RECOMS_LOG_LEVEL": "warning"}
    print(f"loading the demo shop into {work} ...", flush=True)
    loaded = subprocess.run(
        [sys.executable, "-c", "import json; from recoms.demo import load_demo; from recoms.settings import Settings;"
         "info = load_demo(Settings(), echo=lambda s: None); info.pop('instructions'); print(json.dumps(info))"],
        env=env, capture_output=True, text=True, check=True,
    )
    info = json.loads(loaded.stdout.strip().splitlines()[-1])
    ds_id = info["datasources"][args.datasource]
    product = info["samples"]["products"].get("out_of_stock" if args.datasource == "similar" else "in_cart")
    path = f"/api/v1/recoms/{ds_id}?products={product}"

    port = free_port()
    body_file = work / "static-body.json"
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve_app.py"), str(port), str(body_file)], env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        auth = ("shop", info["api_key"])

        def token(i: int) -> str:
            return httpx.post(base + "/api/v1/auth/contact/token", json={"externalCustomerId": f"bench-{i}"},
                              auth=auth).json()["token"]

        first = httpx.get(base + path, headers={"ES-TOKEN": token(0)})
        first.raise_for_status()
        body_file.write_bytes(first.content)  # the static route serves exactly these bytes
        print(f"recoms response: {len(first.content)} bytes, {len(first.json())} products", flush=True)
        per_thread = args.connections // args.threads + 2
        results: dict[str, list[dict]] = {"static": [], "recoms": []}
        static_script = wrk_script(work, "/_bench/static", "static")
        for round_no in range(args.rounds):
            for t in range(args.threads):
                (work / f"tokens-{t}.txt").write_text(
                    "\n".join(token(round_no * 1000 + t * 100 + i) for i in range(per_thread)) + "\n"
                )
            recoms_script = wrk_script(work, path, "recoms")
            results["static"].append(run_wrk(base, "/_bench/static", static_script, args.seconds,
                                             args.connections, args.threads))
            results["recoms"].append(run_wrk(base, path, recoms_script, args.seconds, args.connections,
                                             args.threads))
            r, s = results["recoms"][-1], results["static"][-1]
            print(f"round {round_no + 1}: static {s['rps']:.0f} req/s, recoms {r['rps']:.0f} req/s "
                  f"(non-2xx {r['non2xx']}, errors {r['errors']})", flush=True)
    finally:
        server.terminate()
        server.wait(10)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    print(f"\nmachine: {os.cpu_count()} cores; wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, "
          f"{args.rounds} rounds, medians")
    print(f"{'endpoint':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name in ("static", "recoms"):
        print(f"{name:<10} {med(name, 'rps'):>9.0f} {med(name, 'p50_ms'):>8.2f} {med(name, 'p99_ms'):>8.2f}")
    print(f"ratio recoms/static: {med('recoms', 'rps') / med('static', 'rps'):.2f}")


if __name__ == "__main__":
    main()
