"""Ingestion benchmark: tracking requests under the real server, and `recoms events import` of a history.

    .venv/bin/python bench/ingest.py [--backends sqlite,postgres] [--parts tracking,import] [--rounds 3]
        [--seconds 8] [--connections 64] [--workers 1] [--import-events 1000000] [--write [--tag NAME]]

For each backend (SQLite, or PostgreSQL + Redis at the test URLs of .ci/run) a fresh store gets an account
and a catalog, then:
- tracking: `recoms serve` (granian) driven by wrk (Debian's, on the same cores) with browser events
  (site id, one cookie per visitor): one event per request, then batches of 100, each request a different
  body from a generated set (visitors new and returning, product views, carts, orders). Events/s counts
  acknowledged events (2xx answers); afterwards the store must hold at least as many ("durable"). Each
  round first drives the ceiling, bench/raw_app.py under granian answering recoms' own answer, with the
  same script: the share of it is what compares across machines and moments.
- import: `recoms events import` of a generated history (time-ordered sessions: a new visitor per
  anonymous session, so the contacts grow through the file as in a shop's history) into a fresh store;
  the rate is reported over the first and the last tenth of the file (flat as the contacts grow?).
Prints, and with --write stores in docs/performance.md, medians over the rounds; `uptime` load is noted.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from serve import PG, REDIS, free_port, wait_up, write_doc, wrk  # noqa: E402

BIN = Path(sys.executable).parent
DAY_MS = 86_400_000
N_PRODUCTS = 20_000
CACHE = Path(tempfile.gettempdir()) / "recoms-bench-ingest"


# ---- generated traffic -------------------------------------------------------------------------------

class Shop:
    """Sessions of a shop's visitors, one after the other in time: returning customers (one or two
    cookies each, their identifiers sent once logged in) and anonymous visitors (a new cookie a session)."""

    def __init__(self, seed: int, n_customers: int, start_ms: int, span_ms: int, n_events: int) -> None:
        self.rng = random.Random(seed)
        self.n_customers = n_customers
        self.ts, self.step = start_ms, max(1, span_ms // max(n_events, 1))  # the events spread over the span
        self.anonymous = 0
        self.orders = 0
        self.left: list[dict] = []

    def product(self) -> str:
        return f"P{10000 + int(N_PRODUCTS ** self.rng.random()) - 1}"  # log-uniform: a long tail

    def session(self) -> list[dict]:
        rng = self.rng
        if rng.random() < 0.35:
            self.anonymous += 1
            info: dict = {"cookies": {"sc": f"anon-{self.anonymous}"}}
            customer = None
        else:
            customer = rng.randrange(self.n_customers)
            info = {"cookies": {"sc": f"c{customer}-{rng.randrange(2)}"}}
        events, cart = [], []
        logged_in = False
        for _ in range(rng.randint(1, 12)):
            self.ts += self.step
            roll = rng.random()
            if customer is not None and not logged_in and roll < 0.08:
                logged_in = True
                ids = {"externalCustomerId": f"cust-{customer}", "user_email": f"c{customer}@example.com"}
                events.append(self.event("CustomerData", info, ids))
                info = {**info, **ids}
            elif roll < 0.62:
                events.append(self.event("ProductPage", info, {"productKey": self.product(), "price": 19.9,
                                                               "isInStock": 1}))
            elif roll < 0.72:
                events.append(self.event("CategoryPage", info, {"categoryKey": f"Leaf {rng.randrange(300)}"}))
            elif roll < 0.88:
                cart.append({"productKey": self.product(), "price": 19.9, "quantity": 1})
                events.append(self.event("StatusCart", info, {"Products": list(cart)}))
            elif roll < 0.93 and cart:
                self.orders += 1
                events.append(self.event("PurchasedItems", info, {
                    "OrderNumber": f"o{self.orders}", "Products": [{"product_id": i["productKey"], "price": 19.9,
                                                                   "quantity": 1} for i in cart]}))
                cart = []
            else:
                events.append(self.event("MainPage", info, {}))
        return events

    def event(self, name: str, info: dict, payload: dict) -> dict:
        general = {"eventName": name, "datetime": self.ts, **info}
        if name == "CustomerData":
            return {"GeneralInfo": {**general, **payload}}
        return {"GeneralInfo": general, name: payload}

    def events(self, n: int) -> list[dict]:
        """The next n events (a session may go on in the next call)."""
        while len(self.left) < n:
            self.left.extend(self.session())
        out, self.left = self.left[:n], self.left[n:]
        return out


def history_file(n_events: int, seed: int = 7) -> Path:
    """A time-ordered history of `n_events` tracker envelopes (JSON lines), made once and reused."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"history-{n_events}-{seed}.jsonl"
    if not path.exists():
        now = int(time.time() * 1000)
        shop = Shop(seed, max(1000, n_events // 40), now - 60 * DAY_MS, 59 * DAY_MS, n_events)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            left = n_events
            while left:
                chunk = shop.events(min(left, 100_000))
                fh.write(b"".join(orjson.dumps(e) + b"\n" for e in chunk))
                left -= len(chunk)
        tmp.rename(path)
    return path


def request_bodies(site_id: str, per_request: int, n_bodies: int, seed: int) -> list[bytes]:
    """Browser requests: each a different body of `per_request` events with the site id, now-ish."""
    shop = Shop(seed, 5000, int(time.time() * 1000) - DAY_MS, DAY_MS // 2, n_bodies * per_request)
    bodies = []
    for _ in range(n_bodies):
        events = shop.events(per_request)
        for e in events:
            e["GeneralInfo"]["siteId"] = site_id
        bodies.append(orjson.dumps(events[0] if per_request == 1 else events))
    return bodies


# ---- the store ---------------------------------------------------------------------------------------

def store_env(backend: str, work: Path) -> tuple[dict[str, str], object]:
    env = {**os.environ, "RECOMS_LOG_LEVEL": "warning", "RECOMS_RATE_LIMIT_PER_KEY_PER_SECOND": "0",
           "RECOMS_RATE_LIMIT_PER_SITE_PER_SECOND": "0", "RECOMS_ARTIFACTS_DIR": str(work / "artifacts"),
           "RECOMS_JOBS": "false"}  # no training of the fresh account beside the measurement
    if backend == "sqlite":
        env["RECOMS_DATABASE_URL"] = f"sqlite:///{work}/recoms.db"
        return env, None
    import sqlalchemy as sa

    name = f"recoms_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    env["RECOMS_DATABASE_URL"] = PG.rsplit("/", 1)[0] + "/" + name
    env["RECOMS_TOKEN_STORE"] = REDIS

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return env, drop


SETUP = """
import json, sys
from recoms.domain.product import Product
from recoms.services.accounts import create_account
from recoms.settings import Settings
from recoms.store import products
from recoms.store.db import make_engine, migrate
engine = make_engine(Settings().database_url)
migrate(engine)
created = create_account(engine, sys.argv[1], "extra")
with engine.begin() as conn:
    products.upsert_products(conn, created["account_id"], [
        Product(id=f"P{10000 + i}", name=f"Product {i}", url=f"https://shop.example/p/{i}", price=19.9,
                category=[f"Leaf {i % 300}"]) for i in range(int(sys.argv[2]))], feed_seen_at=None)
print(json.dumps(created))
"""


def new_account(env: dict[str, str], name: str) -> dict:
    out = subprocess.run([sys.executable, "-c", SETUP, name, str(N_PRODUCTS)], env=env, capture_output=True,
                         text=True, check=True).stdout
    return orjson.loads(out.strip().splitlines()[-1])


def stored_events(env: dict[str, str], account_id: int) -> int:
    code = ("import sys; from recoms.settings import Settings; from recoms.store.db import make_engine; "
            "e = make_engine(Settings().database_url); c = e.connect(); "
            "print(c.exec_driver_sql(f'SELECT count(*) FROM events WHERE account_id = {int(sys.argv[1])}')"
            ".scalar())")
    out = subprocess.run([sys.executable, "-c", code, str(account_id)], env=env, capture_output=True, text=True,
                         check=True).stdout
    return int(out.strip().splitlines()[-1])


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants (the server and its workers)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    family, frontier = {pid}, {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - family
        family |= frontier
    return sum(cpu.get(p, 0.0) for p in family)


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def reference_ms() -> float:
    """How fast this machine runs Python just now: a fixed loop, best of three (a shared host's speed moved
    by half from one minute to the next: the rates of different runs compare only beside this)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        sum(i * i for i in range(300_000))
        best = min(best, time.perf_counter() - t0)
    return best * 1000


# ---- tracking under the server -------------------------------------------------------------------------

LUA = """
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end
accepted = 0
function response(status, headers, body)
  if status == 200 then accepted = accepted + tonumber(string.match(body, '"accepted":(%%d+)')) end
end
local bodies = {}
local n = 0
function init(args)
  for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
  n = id * 7919
end
function request()
  n = n + 1
  return wrk.format("POST", "/api/v2/tracking", {["Content-Type"] = "application/json"}, bodies[n %% #bodies + 1])
end
done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("accepted") end
  io.write(string.format('{"accepted": %%d, "requests": %%d, "seconds": %%f, "p50_ms": %%f, "p99_ms": %%f, '
    .. '"errors": %%d, "non2xx": %%d}\\n', total, summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def ceiling(body: bytes, work: Path, env: dict[str, str], workers: int) -> tuple[subprocess.Popen, str]:
    """bench/raw_app.py answering every request with `body`, under granian with as many workers."""
    body_file = work / "ceiling-body.bin"
    body_file.write_bytes(body)
    port = free_port()
    raw = subprocess.Popen([str(BIN / "granian"), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
                            "--workers", str(workers), "--http", "1", "--log-level", "warning",
                            "--working-dir", str(BENCH), "raw_app:app"],
                           env={**env, "RECOMS_BENCH_BODY": str(body_file)})
    base = f"http://127.0.0.1:{port}"
    wait_up(base)
    return raw, base


def tracking(backend: str, env: dict[str, str], args, work: Path) -> list[dict]:
    """Each round: the raw ceiling answering recoms' own answer, then recoms (the same wrk script)."""
    account = new_account(env, "bench tracking")
    port = free_port()
    server = subprocess.Popen([str(BIN / "recoms"), "serve", "--port", str(port), "--workers", str(args.workers)],
                              env=env)
    base = f"http://127.0.0.1:{port}"
    rows, raw = [], None
    try:
        wait_up(base)
        for per_request in (1, 100):
            bodies = work / f"bodies-{per_request}.txt"
            n_bodies = 20_000 if per_request == 1 else 400
            generated = request_bodies(account["site_id"], per_request, n_bodies, seed=3)
            bodies.write_bytes(b"\n".join(generated[1:]) + b"\n")
            answer = httpx.post(base + "/api/v2/tracking", content=generated[0],
                                headers={"Content-Type": "application/json"})
            answer.raise_for_status()
            raw, raw_base = ceiling(answer.content, work, env, args.workers)
            script = work / f"tracking-{per_request}.lua"
            script.write_text(LUA % {"bodies": bodies})
            rounds = []
            for _ in range(args.rounds):
                ceiling_rps = wrk(raw_base, script, args.seconds, args.connections, args.threads)["rps"]
                before = stored_events(env, account["account_id"])
                loadavg, reference = load(), reference_ms()
                cpu = tree_cpu(server.pid)
                result = wrk(base, script, args.seconds, args.connections, args.threads)
                result["cpu_us"] = (tree_cpu(server.pid) - cpu) / max(result["accepted"], 1) * 1e6
                time.sleep(0.5)  # answers wrk stopped waiting for are still being committed
                result["stored"] = stored_events(env, account["account_id"]) - before
                result["acknowledged"] = result["accepted"]  # events the answers said were stored
                result["load"], result["reference_ms"], result["ceiling_rps"] = loadavg, reference, ceiling_rps
                rounds.append(result)
                print(f"  [{backend}] {per_request} event(s)/request: {result['rps']:,.0f} req/s, "
                      f"{result['acknowledged'] / result['seconds']:,.0f} events/s, p99 {result['p99_ms']:.0f} ms, "
                      f"acknowledged {result['acknowledged']}, stored {result['stored']}, server CPU "
                      f"{result['cpu_us']:.0f} µs an event, load {loadavg}, reference loop {reference:.0f} ms, "
                      f"ceiling {ceiling_rps:,.0f} req/s", flush=True)
            raw.terminate()
            raw.wait(10)
            raw = None
            rows.append({
                "backend": backend, "case": f"tracking, {per_request} event(s) a request",
                "rps": statistics.median(r["rps"] for r in rounds),
                "events_per_s": statistics.median(r["acknowledged"] / r["seconds"] for r in rounds),
                "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
                "cpu_us": statistics.median(r["cpu_us"] for r in rounds),
                "errors": sum(r["errors"] + r["non2xx"] for r in rounds),
                "durable": all(r["stored"] >= r["acknowledged"] for r in rounds),
                "load": "/".join(r["load"] for r in rounds),
                "reference_ms": statistics.median(r["reference_ms"] for r in rounds),
                "ceiling_rps": statistics.median(r["ceiling_rps"] for r in rounds),
                "share": statistics.median(r["rps"] / r["ceiling_rps"] for r in rounds),
            })
    finally:
        for proc in (server, raw):
            if proc is not None:
                proc.terminate()
                proc.wait(20)
    return rows


# ---- import ---------------------------------------------------------------------------------------------

PROGRESS = re.compile(r"^(\d+) lines, ([\d.]+) s$")


def import_round(env: dict[str, str], path: Path, n_events: int) -> dict:
    account = new_account(env, f"bench import {uuid.uuid4().hex[:6]}")
    loadavg, reference = load(), reference_ms()
    t0 = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([str(BIN / "recoms"), "events", "import", str(path), "--account",
                           str(account["account_id"]), "--progress"], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    if proc.returncode:
        raise SystemExit(proc.stderr)
    report = orjson.loads(proc.stdout)
    marks = [(0, 0.0)] + [(int(m.group(1)), float(m.group(2))) for m in map(PROGRESS.match, proc.stderr.splitlines())
                          if m]
    tenth = n_events // 10

    def rate(lo: int, hi: int) -> float:
        (l0, t0_), (l1, t1) = min(marks, key=lambda m: abs(m[0] - lo)), min(marks, key=lambda m: abs(m[0] - hi))
        return (l1 - l0) / (t1 - t0_) if t1 > t0_ else float("nan")

    return {"seconds": seconds, "rate": report["accepted"] / seconds, "accepted": report["accepted"],
            "cpu_us": cpu_s / max(report["accepted"], 1) * 1e6,
            "errors": len(report["errors"]), "first": rate(0, tenth), "last": rate(n_events - tenth, n_events),
            "load": loadavg, "load_after": load(), "reference_ms": reference}


def imports(backend: str, args) -> list[dict]:
    """Each round into a store of its own (a shop's first import of its history): the same measurement
    each time, not one into a store that the rounds before have grown."""
    path = history_file(args.import_events)
    rounds = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="recoms-bench-import-") as tmp:
            env, drop = store_env(backend, Path(tmp))
            try:
                r = import_round(env, path, args.import_events)
            finally:
                if drop is not None:
                    drop()
        rounds.append(r)
        print(f"  [{backend}] import of {args.import_events:,} events: {r['rate']:,.0f} events/s overall, "
              f"{r['first']:,.0f} over the first tenth, {r['last']:,.0f} over the last; {r['errors']} errors; "
              f"import CPU {r['cpu_us']:.0f} µs an event; "
              f"load {r['load']} -> {r['load_after']}, reference loop {r['reference_ms']:.0f} ms", flush=True)
    return [{
        "backend": backend, "case": f"events import, {args.import_events:,} events",
        "rps": None, "events_per_s": statistics.median(r["rate"] for r in rounds),
        "first": statistics.median(r["first"] for r in rounds), "last": statistics.median(r["last"] for r in rounds),
        "cpu_us": statistics.median(r["cpu_us"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds), "durable": True,
        "load": "/".join(r["load"] for r in rounds),
        "reference_ms": statistics.median(r["reference_ms"] for r in rounds),
    }]


# ---- report ---------------------------------------------------------------------------------------------

HEADER = ("| backend | case | req/s | ceiling req/s | share | events/s | p99 ms | first / last tenth (events/s) "
          "| CPU µs an event | errors | durable | load | reference loop ms |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def format_row(r: dict) -> str:
    rps = f"{r['rps']:,.0f}" if r.get("rps") else ""
    p99 = f"{r['p99_ms']:.0f}" if r.get("p99_ms") is not None else ""
    tenths = f"{r['first']:,.0f} / {r['last']:,.0f}" if "first" in r else ""
    ceiling = f"{r['ceiling_rps']:,.0f} | {r['share']:.0%}" if r.get("ceiling_rps") else " | "
    return (f"| {r['backend']} | {r['case']} | {rps} | {ceiling} | {r['events_per_s']:,.0f} | {p99} | {tenths} | "
            f"{r['cpu_us']:.0f} | {r['errors']} "
            f"| {'yes' if r['durable'] else 'NO'} | {r['load']} | {r['reference_ms']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite", help="sqlite, postgres (PostgreSQL + Redis)")
    parser.add_argument("--parts", default="tracking,import")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--import-events", type=int, default=1_000_000)
    parser.add_argument("--write", action="store_true", help="write the table into docs/performance.md")
    parser.add_argument("--tag", default="", help="with --write: the table's own block (several tables)")
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",")}
    rows = []
    for backend in (b.strip() for b in args.backends.split(",")):
        if "tracking" in parts:
            with tempfile.TemporaryDirectory(prefix="recoms-bench-ingest-") as tmp:
                env, drop = store_env(backend, Path(tmp))
                try:
                    rows += tracking(backend, env, args, Path(tmp))
                finally:
                    if drop is not None:
                        drop()
        if "import" in parts:
            rows += imports(backend, args)
    table = "\n".join([HEADER, *map(format_row, rows)])
    machine = (f"{os.cpu_count()} cores; `recoms serve` with {args.workers} worker(s), wrk -t{args.threads} "
               f"-c{args.connections} -d{args.seconds}s on the same cores; medians of {args.rounds} rounds; "
               "load is the 1-minute load average at the start of each round; reference loop ms: a fixed Python loop "
               "timed before each round (the machine's speed then; lower is faster)")
    print(f"\n{machine}\n{table}")
    if args.write:
        write_doc(table, machine, args.tag, bench="bench/ingest.py")


if __name__ == "__main__":
    main()
