"""µs per recommendation request, in process (no server), per data source of the demo shop.

Two numbers per data source, medians of `--runs` runs:
- app: the whole ASGI app (middleware, token exchange, history read, scoring, JSON), tokens chained
  as a client chains them;
- pick: `ServingEngine.pick` alone (plan, scoring, rules, fallback) on the same request, the
  contact's history read once beforehand.

    .venv/bin/python bench/profile_request.py                      # every data source
    .venv/bin/python bench/profile_request.py personal upsell -n 2000 --runs 5
    .venv/bin/python bench/profile_request.py similar --profile pick   # cProfile of pick (or app)
    .venv/bin/python bench/profile_request.py v2 --profile app         # the server-to-server call
    .venv/bin/python bench/profile_request.py similar --concurrent 32  # 32 requests at a time

`v2` is the server-to-server call of bench/serve.py: also bought for the sample contact named by email,
with the API key (its app number only).

Times are CPU time of the process (`time.process_time`): other jobs on a shared machine slow the
wall clock far more than they change the CPU a request costs. The collector is set as the server sets it
once it is up (`recoms.gc_tuning.settle`): without that, full collections over the demo's objects made
runs differ by a fifth.
The demo shop is loaded into a temporary SQLite database and artifacts directory (about a minute).
The sample contact (long history, orders) is the requester, so personal and recently viewed have
history to read. On a shared machine compare these numbers, not wall-clock server throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import os
import pstats
import statistics
import tempfile
import time

from recoms import gc_tuning

DATASOURCES = ("similar", "also_bought", "cross_sell", "upsell", "personal", "bestsellers",
               "bestsellers_category", "recently_viewed", "new_arrivals")


def setup(work: str | None = None) -> dict:
    work = work or tempfile.mkdtemp(prefix="recoms-profile-")
    os.environ.update(RECOMS_DATABASE_URL=f"sqlite:///{work}/recoms.db", RECOMS_ARTIFACTS_DIR=f"{work}/artifacts",
                      RECOMS_LOG_LEVEL="warning", RECOMS_RATE_LIMIT_PER_KEY_PER_SECOND="0",
                      RECOMS_RATE_LIMIT_PER_SITE_PER_SECOND="0")
    from recoms.api.app import create_app
    from recoms.demo import load_demo
    from recoms.services.contacts import resolve_contact
    from recoms.settings import Settings, get_settings

    info = load_demo(Settings(), echo=lambda s: None)
    app = create_app(get_settings(), background=False)
    platform = app.state.platform
    contact = info["samples"]["contact"]
    contact_id = resolve_contact(platform.engine, info["account_id"], {"email": contact["email"]}, True)
    return {"info": info, "app": app, "platform": platform, "contact_id": contact_id}


def query_of(name: str, products: dict[str, str]) -> str:
    return {"similar": f"products={products['out_of_stock']}", "also_bought": f"products={products['in_cart']}",
            "cross_sell": f"products={products['in_cart']}", "upsell": f"products={products['in_cart']}",
            "bestsellers_category": "category=Home"}.get(name, "")


class AppLoop:
    """Requests through the ASGI app, each with the token the previous answer gave (v2: the API key)."""

    def __init__(self, env: dict, name: str) -> None:
        self.app = env["app"]
        info = env["info"]
        self.token = self.auth = None
        if name == "v2":
            email = info["samples"]["contact"]["email"]
            self.path = f"/api/v2/contacts/recoms/{info['datasources']['also_bought']}"
            self.qs = f"email={email}&{query_of('also_bought', info['samples']['products'])}".encode()
            self.auth = b"Basic " + base64.b64encode(f"key:{info['api_key']}".encode())
        else:
            self.path = f"/api/v1/recoms/{info['datasources'][name]}"
            self.qs = query_of(name, info["samples"]["products"]).encode()
            self.token = env["platform"].ctx.tokens.issue(info["account_id"], env["contact_id"])

    async def one(self) -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": self.path, "raw_path": self.path.encode(), "query_string": self.qs,
                 "root_path": "", "headers": [(b"host", b"x"), (b"authorization", self.auth) if self.auth
                                               else (b"es-token", self.token.encode())],
                 "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 80), "app": self.app}
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await self.app(scope, receive, send)
        assert sent[0]["status"] == 200, sent
        for key, value in sent[0]["headers"]:
            if key.lower() == b"es-token" and self.token:
                self.token = value.decode()

    def run(self, n: int) -> float:
        async def loop() -> float:
            start = time.process_time()
            for _ in range(n):
                await self.one()
            return time.process_time() - start

        return asyncio.run(loop())


class ConcurrentLoop:
    """`concurrent` token chains of `AppLoop`, one request of each at a time on one event loop, as a busy
    server's requests arrive: their token exchanges are batched as under load."""

    def __init__(self, env: dict, name: str, concurrent: int) -> None:
        self.chains = [AppLoop(env, name) for _ in range(concurrent)]

    def run(self, n: int) -> float:
        """The CPU seconds of n requests (measured on the whole rounds of requests closest to n)."""
        rounds = max(1, n // len(self.chains))

        async def loop() -> float:
            start = time.process_time()
            for _ in range(rounds):
                await asyncio.gather(*(chain.one() for chain in self.chains))
            return time.process_time() - start

        return asyncio.run(loop()) / (rounds * len(self.chains)) * n


class PickLoop:
    """`ServingEngine.pick` alone, with what the service would pass it."""

    def __init__(self, env: dict, name: str) -> None:
        from starlette.datastructures import QueryParams

        from recoms.services.recoms import HISTORY_LIMIT, parse_query
        from recoms.store import activity

        platform, info = env["platform"], env["info"]
        self.serving = platform.serving
        self.account_id = info["account_id"]
        self.ds = platform.datasources.get(self.account_id, info["datasources"][name])
        self.req = parse_query(QueryParams(query_of(name, info["samples"]["products"])))
        bound = self.serving.state(self.account_id).bind(self.ds)
        # What the service reads the history through (its driver connections; the engine in older trees).
        reads = getattr(platform.recommendations, "reads", platform.engine)
        self.history = (activity.contact_history(reads, self.account_id, env["contact_id"], HISTORY_LIMIT)
                        if bound.uses_history else None)

    def once(self) -> list[int]:
        return self.serving.pick(self.account_id, self.ds, self.req.products, self.req.categories, self.req.filters,
                                 self.history, None)[1]

    def run(self, n: int) -> float:
        start = time.process_time()
        for _ in range(n):
            self.once()
        return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=DATASOURCES, help="data sources (default: all)")
    parser.add_argument("-n", type=int, default=1000, help="requests per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=1,
                        help="app: this many token chains at a time (their exchanges batched, as under load)")
    parser.add_argument("--profile", choices=("app", "pick"), help="print a cProfile of one more run")
    parser.add_argument("--dir", help="keep the demo shop here and reuse it (default: a new temporary one)")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    env = setup(args.dir)
    gc_tuning.settle()  # as the server does once it is up: the demo's objects frozen, fewer collections
    print(f"{'data source':<22}{'app µs':>10}{'pick µs':>10}   (CPU µs per request, median of {args.runs} x {args.n})")
    for name in args.names:
        loops = {"app": AppLoop(env, name) if args.concurrent <= 1 else ConcurrentLoop(env, name, args.concurrent)}
        if name != "v2":
            loops["pick"] = PickLoop(env, name)
        result = {}
        for kind, loop in loops.items():
            loop.run(max(50, args.n // 10))  # warm: caches, views, lists
            result[kind] = statistics.median(loop.run(args.n) / args.n * 1e6 for _ in range(args.runs))
        pick = f"{result['pick']:>10.0f}" if "pick" in result else f"{'-':>10}"
        print(f"{name:<22}{result['app']:>10.0f}{pick}", flush=True)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            loops[args.profile].run(args.n)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
