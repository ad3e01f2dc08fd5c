"""Serving benchmark: every data source, the v2 endpoint and tracking, each against a raw ASGI app that
returns the same bytes, served by the same server with the same workers, in the same rounds.

    .venv/bin/python bench/serve.py [--backends sqlite,postgres] [--workers 1,2] [--seconds 8] [--rounds 3]
                                    [--connections 64] [--endpoints similar,personal,...]
                                    [--server-env RECOMS_ANSWER_CACHE_ENTRIES=0] [--write [--tag NAME]]

Loads the demo shop (SQLite, or PostgreSQL + Redis at the test URLs of .ci/run), starts `recoms serve`
(granian) and `bench/raw_app.py` under granian with as many workers, and drives both with wrk (Debian's
`wrk`, on the same cores: the machine's whole capacity is shared, as in production on one box). Token
requests chain each response's ES-TOKEN into the next request. Prints, and with --write stores in
docs/performance.md, medians over the rounds: req/s, share of the ceiling, p50 and p99, and the CPU the
server's processes spent per request (user + system, from /proc: steadier than req/s on a shared machine),
wrk's own CPU per request, and the req/s the cores allow at those two (what no number of workers exceeds).
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
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG = os.environ.get("RECOMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("RECOMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TRACKING_BATCH = 100


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    token: bool = False  # chain ES-TOKENs
    body: bytes = b""
    headers: dict[str, str] | None = None
    events_per_request: int = 0
    # Whose tokens (the identifiers sent to /api/v1/auth/contact/token): a new visitor each by default.
    contact: dict[str, str] | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lua(endpoint: Endpoint, work: Path) -> Path:
    """A wrk script: token endpoints chain each response's ES-TOKEN into the next request (each thread owns
    its seed tokens); the others send fixed headers and body. The raw ceiling runs the same script."""
    script = work / f"{endpoint.name}.lua"
    headers = ", ".join(f'["{k}"] = {json.dumps(v)}' for k, v in (endpoint.headers or {}).items())
    body = json.dumps(endpoint.body.decode()) if endpoint.body else "nil"
    script.write_text(f"""
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local queue = {{}}
local last = nil
function init(args)
  local f = io.open("{work}/tokens-" .. id .. ".txt")
  if f then
    for line in f:lines() do queue[#queue + 1] = line end
    f:close()
  end
end
function request()
  local headers = {{{headers}}}
  if {str(endpoint.token).lower()} then
    last = table.remove(queue)
    headers["ES-TOKEN"] = last
  end
  return wrk.format("{endpoint.method}", "{endpoint.path}", headers, {body})
end
function response(status, headers, body)
  if {str(endpoint.token).lower()} then queue[#queue + 1] = headers["es-token"] or last end
end
done = function(summary, latency, requests)
  io.write(string.format('{{"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "errors": %d, "non2xx": %d}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
""")
    return script


def wrk(base: str, script: Path, seconds: int, connections: int, threads: int) -> dict:
    before = os.times()
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
                          "-s", str(script), base], capture_output=True, text=True, check=True).stdout
    after = os.times()
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    # The load generator's own CPU a request: on the same cores, what it takes the server cannot use.
    wrk_cpu = after.children_user + after.children_system - before.children_user - before.children_system
    result["wrk_cpu_us"] = wrk_cpu / max(result["requests"], 1) * 1e6
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children, threads included (Linux /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pids += [int(child) for child in children]
    return total / ticks


def wait_up(base: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{base} did not come up")


def load_demo(env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", "import json; from recoms.demo import load_demo; from recoms.settings import Settings;"
         "info = load_demo(Settings(), echo=lambda s: None); info.pop('instructions'); print(json.dumps(info))"],
        env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def endpoints(info: dict) -> list[Endpoint]:
    ds, samples = info["datasources"], info["samples"]
    products = samples["products"]
    email = samples["contact"]["email"] if isinstance(samples.get("contact"), dict) else None
    site = info["site_id"]
    key = info["api_key"]
    import base64

    auth = "Basic " + base64.b64encode(f"shop:{key}".encode()).decode()
    category = samples.get("category", "Home")
    found = []
    for name, query in (("similar", f"products={products['out_of_stock']}"),
                        ("cross_sell", f"products={products['in_cart']}"),
                        ("upsell", f"products={products['in_cart']}"),
                        ("also_bought", f"products={products['in_cart']}"),
                        ("personal", ""), ("bestsellers", ""),
                        ("bestsellers_category", f"category={category}"),
                        ("recently_viewed", ""), ("new_arrivals", "")):
        if name in ds:
            found.append(Endpoint(name, "GET", f"/api/v1/recoms/{ds[name]}?{query}", token=True))
    if email:  # a returning customer: a long history of views, carts and orders (personal reads 200 events)
        for name in ("personal", "recently_viewed"):
            if name in ds:
                found.append(Endpoint(f"{name}_returning", "GET", f"/api/v1/recoms/{ds[name]}", token=True,
                                      contact={"email": email}))
    v2_query = f"email={email}&" if email else ""
    found.append(Endpoint("v2", "GET",
                          f"/api/v2/contacts/recoms/{ds['also_bought']}?{v2_query}products={products['in_cart']}",
                          headers={"Authorization": auth}))
    event = {"GeneralInfo": {"eventName": "ProductPage", "siteId": site, "cookies": {"sc": "bench-visitor"}},
             "ProductPage": {"productKey": products["in_cart"], "price": "19.9", "isInStock": 1}}
    found.append(Endpoint("tracking", "POST", "/api/v2/tracking", body=json.dumps(event).encode(),
                          headers={"Content-Type": "application/json"}, events_per_request=1))
    found.append(Endpoint(f"tracking-batch-{TRACKING_BATCH}", "POST", "/api/v2/tracking",
                          body=json.dumps([event] * TRACKING_BATCH).encode(),
                          headers={"Content-Type": "application/json"}, events_per_request=TRACKING_BATCH))
    return found


def run_backend(backend: str, workers: int, args, work: Path) -> list[dict]:
    env = {**os.environ, "RECOMS_LOG_LEVEL": "warning", "RECOMS_RATE_LIMIT_PER_KEY_PER_SECOND": "0",
           "RECOMS_RATE_LIMIT_PER_SITE_PER_SECOND": "0", "RECOMS_ARTIFACTS_DIR": str(work / "artifacts"),
           **dict(pair.split("=", 1) for pair in args.server_env)}
    cleanup = None
    if backend == "sqlite":
        env["RECOMS_DATABASE_URL"] = f"sqlite:///{work}/recoms.db"
    else:
        import sqlalchemy as sa

        name = f"recoms_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        env["RECOMS_DATABASE_URL"] = PG.rsplit("/", 1)[0] + "/" + name
        env["RECOMS_TOKEN_STORE"] = REDIS

        def cleanup() -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"[{backend}, {workers} worker(s)] loading the demo shop ...", flush=True)
    info = load_demo(env)
    port, raw_port = free_port(), free_port()
    server = subprocess.Popen([str(BIN / "recoms"), "serve", "--port", str(port), "--workers", str(workers)], env=env)
    base = f"http://127.0.0.1:{port}"
    raw = None
    results = []
    try:
        wait_up(base)
        auth = ("shop", info["api_key"])

        def token(i: int, contact: dict[str, str] | None = None) -> str:
            return httpx.post(base + "/api/v1/auth/contact/token", json=contact or {"externalCustomerId": f"bench-{i}"},
                              auth=auth).json()["token"]

        for endpoint in endpoints(info):
            if args.endpoints and endpoint.name not in args.endpoints:
                continue
            headers = dict(endpoint.headers or {})
            if endpoint.token:
                headers["ES-TOKEN"] = token(0, endpoint.contact)
            first = httpx.request(endpoint.method, base + endpoint.path, content=endpoint.body or None,
                                  headers=headers)
            first.raise_for_status()
            body_file = work / "body.bin"
            body_file.write_bytes(first.content)
            raw = subprocess.Popen([str(BIN / "granian"), "--interface", "asgi", "--host", "127.0.0.1", "--port",
                                    str(raw_port), "--workers", str(workers), "--http", "1", "--log-level", "warning",
                                    "--working-dir", str(ROOT / "bench"), "raw_app:app"],
                                   env={**env, "RECOMS_BENCH_BODY": str(body_file)})
            wait_up(f"http://127.0.0.1:{raw_port}")
            script = lua(endpoint, work)
            rounds: dict[str, list[dict]] = {"ceiling": [], "recoms": []}
            for round_no in range(args.rounds):
                if endpoint.token:
                    per_thread = args.connections // args.threads + 2
                    for t in range(args.threads):
                        (work / f"tokens-{t}.txt").write_text("\n".join(
                            token(round_no * 10_000 + t * 1000 + i, endpoint.contact)
                            for i in range(per_thread)) + "\n")
                load = os.getloadavg()[0]
                rounds["ceiling"].append(wrk(f"http://127.0.0.1:{raw_port}", script, args.seconds,
                                             args.connections, args.threads))
                rounds["ceiling"][-1]["load"] = load
                cpu = cpu_seconds(server.pid)
                served = wrk(base, script, args.seconds, args.connections, args.threads)
                served["cpu_us"] = (cpu_seconds(server.pid) - cpu) / max(served["requests"], 1) * 1e6
                rounds["recoms"].append(served)
            raw.terminate()
            raw.wait(10)
            raw = None

            def med(which: str, key: str, rounds: dict = rounds) -> float:
                return statistics.median(r[key] for r in rounds[which])

            row = {"backend": backend, "workers": workers, "endpoint": endpoint.name, "bytes": len(first.content),
                   "ceiling_rps": med("ceiling", "rps"), "rps": med("recoms", "rps"),
                   "p50_ms": med("recoms", "p50_ms"), "p99_ms": med("recoms", "p99_ms"),
                   "ceiling_p99_ms": med("ceiling", "p99_ms"), "cpu_us": med("recoms", "cpu_us"),
                   "wrk_cpu_us": med("recoms", "wrk_cpu_us"),
                   "errors": sum(r["errors"] + r["non2xx"] for r in rounds["recoms"]),
                   "events_per_s": med("recoms", "rps") * endpoint.events_per_request}
            row["share"] = row["rps"] / row["ceiling_rps"]
            # What the machine's cores allow at this CPU a request (the server's and wrk's; PostgreSQL's
            # and Redis's own are not counted): no number of workers serves more.
            row["cpu_bound_rps"] = (os.cpu_count() or 1) * 1e6 / max(row["cpu_us"] + row["wrk_cpu_us"], 1e-9)
            row["load"] = "/".join(f"{r['load']:.1f}" for r in rounds["ceiling"])
            results.append(row)
            print(format_row(row), flush=True)
    finally:
        for proc in (server, raw):
            if proc is not None:
                proc.terminate()
                proc.wait(10)
        if cleanup is not None:
            cleanup()
    return results


HEADER = ("| backend | workers | endpoint | req/s | ceiling req/s | share | p50 ms | p99 ms | ceiling p99 ms "
          "| server CPU µs/req | wrk CPU µs/req | CPU-bound req/s | events/s | errors | load |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def format_row(r: dict) -> str:
    events = f"{r['events_per_s']:,.0f}" if r["events_per_s"] else ""
    return (f"| {r['backend']} | {r['workers']} | {r['endpoint']} | {r['rps']:,.0f} | {r['ceiling_rps']:,.0f} | "
            f"{r['share']:.0%} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['ceiling_p99_ms']:.1f} | "
            f"{r.get('cpu_us', 0):.0f} | {r.get('wrk_cpu_us', 0):.0f} | {r.get('cpu_bound_rps', 0):,.0f} | {events} | "
            f"{r['errors']} | {r['load']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite", help="sqlite, postgres (PostgreSQL + Redis)")
    parser.add_argument("--workers", default="1", help="comma-separated worker counts")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--endpoints", default="", help="comma-separated names (default: all)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the recoms server (e.g. RECOMS_ANSWER_CACHE_ENTRIES=0), repeatable")
    parser.add_argument("--write", action="store_true", help="write the table into docs/performance.md")
    parser.add_argument("--tag", default="", help="with --write: the table's own block (several tables)")
    args = parser.parse_args()
    args.endpoints = {e.strip() for e in args.endpoints.split(",") if e.strip()}
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (Debian: apt-get install wrk)")
    rows = []
    for backend in args.backends.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            with tempfile.TemporaryDirectory(prefix="recoms-bench-") as tmp:
                rows += run_backend(backend.strip(), workers, args, Path(tmp))
    table = "\n".join([HEADER, *map(format_row, rows)])
    machine = (f"{os.cpu_count()} cores; wrk -t{args.threads} -c{args.connections} -d{args.seconds}s on the same "
               f"cores; medians of {args.rounds} rounds; load: the 1-minute load average as each round started"
               + "".join(f"; {pair}" for pair in args.server_env))
    print(f"\n{machine}\n{table}")
    if args.write:
        write_doc(table, machine, args.tag)


def write_doc(table: str, machine: str, tag: str = "", bench: str = "bench/serve.py") -> None:
    """The table into docs/performance.md, in place of the block `<!-- {bench} {tag} -->` (bench/ingest.py
    writes its own the same way), or at the end when there is none yet."""
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text() if doc.exists() else ""
    name = f"{bench} {tag}".strip()
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{machine}\n\n{table}\n{end}"
    if start in text:
        text = text.split(start)[0] + block + text.split(end, 1)[1]
    else:
        text += "\n" + block + "\n"
    doc.write_text(text)


if __name__ == "__main__":
    main()
