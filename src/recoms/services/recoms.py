"""The recommendation use case (SPEC §2): parse the request, check plan and data source, score.

Shared by the token endpoint (`/api/v1/recoms`) and the server-to-server one (`/api/v2/contacts/recoms`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
import sqlalchemy as sa

from recoms.domain import variants
from recoms.domain.accounts import Account
from recoms.domain.datasource import DataSource
from recoms.domain.product import Product
from recoms.domain.rules import Filter, RuleError, parse_filters
from recoms.errors import BadRequest, NotFound, Unauthorized
from recoms.services.accounts import AccountDirectory, require_recommendations
from recoms.services.answer_cache import AnswerCache, depends_on_contact_fields
from recoms.services.attribution import RecommendationLog
from recoms.services.datasources import DataSources
from recoms.services.known_contacts import KnownContacts
from recoms.services.off_loop import BatchedReads, OffLoop, TokenExchanges
from recoms.services.serving import AccountModels, ServingEngine
from recoms.store import activity, contacts, history_marks
from recoms.store.db import DriverConnections
from recoms.store.redis_tokens import RedisTokenStore
from recoms.store.tokens import SqlTokenStore, TokenStore

MAX_CONTEXT = 200
HISTORY_LIMIT = 200
MAX_TOKEN_CHARS = 256
MISSING_TOKEN = "the ES-TOKEN header is missing: get a token from /api/v1/auth/contact/token"  # noqa: S105
SPENT_TOKEN = "the ES-TOKEN is unknown, expired or already used: get a new one"  # noqa: S105


def datasource_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"data source {raw[:40]!r} does not exist")
    return int(raw)


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


@dataclass(frozen=True, slots=True)
class RecomsRequest:
    """A request's context; one instance may answer many requests (`ParsedQueries`): read it, never change it."""

    products: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    filters: tuple[Filter, ...] = ()
    key: tuple = field(init=False, repr=False, compare=False)  # what of it an answer depends on (answer_cache)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (tuple(self.products), tuple(self.categories), self.filters))


def _split(values: Iterable[str]) -> list[str]:
    out = [part.strip() for value in values for part in value.split(",")]
    return [v for v in out if v]


class QueryLists:
    """A query string's values by name, as Starlette's QueryParams parses it (`parse_qsl`, blank values
    kept), for `parse_query`: the recommendation routes' query without QueryParams' two multidicts."""

    __slots__ = ("_lists",)

    def __init__(self, raw: bytes) -> None:
        text = raw.decode("latin-1")
        if "%" in text or "+" in text:
            pairs = parse_qsl(text, keep_blank_values=True)
        else:  # nothing to unquote: what parse_qsl would do, without its per-field work
            pairs = [(name, value) for name, _, value in (field.partition("=") for field in text.split("&") if field)]
        lists: dict[str, list[str]] = {}
        for name, value in pairs:
            lists.setdefault(name, []).append(value)
        self._lists = lists

    def getlist(self, name: str) -> list[str]:
        return self._lists.get(name, [])

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value given for `name` (as QueryParams.get)."""
        values = self._lists.get(name)
        return values[-1] if values else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)


def parse_query(params: Mapping[str, Any] | QueryLists) -> RecomsRequest:
    """GET form: `products=a&products=b` or `products=a,b`; `category`/`categories`; `filter.<mode>.<field>=v`."""
    getlist = params.getlist  # QueryLists, or Starlette's QueryParams
    products = _split(getlist("products"))
    categories = _split([*getlist("category"), *getlist("categories")])
    raw_filters = []
    for key in params:
        if key.startswith("filter."):
            _, _, rest = key.partition(".")
            mode, _, name = rest.partition(".")
            raw_filters.append({"name": name, "values": _split(getlist(key)), "mode": mode})
    return _finish(products, categories, raw_filters)


class ParsedQueries:
    """Query strings parsed once: a shop's pages ask with a few thousand distinct ones (the product on the
    page), and parsing one costs more than finding its reused answer. Bounded: at most `entries` kept, each
    at most MAX_KEPT_QUERY bytes; a query that fails to parse is not kept."""

    MAX_KEPT_QUERY = 512

    def __init__(self, entries: int = 4096) -> None:
        self.entries = entries
        self._parsed: dict[bytes, RecomsRequest] = {}

    def parse(self, raw: bytes) -> RecomsRequest:
        req = self._parsed.get(raw)
        if req is None:
            req = parse_query(QueryLists(raw))
            if len(raw) <= self.MAX_KEPT_QUERY:
                if len(self._parsed) >= self.entries:  # whatever the traffic, never more than `entries`
                    self._parsed.clear()
                self._parsed[raw] = req
        return req


def parse_body(body: Any) -> RecomsRequest:
    """POST form: `{"products": [...], "category": [...], "filters": [{name, values, mode}]}`."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    lists = {}
    for name in ("products", "category", "categories"):
        value = body.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise BadRequest(f"{name} must be an array of strings")
        lists[name] = [str(v) for v in value]
    return _finish(_split(lists["products"]), _split(lists["category"] + lists["categories"]), body.get("filters"))


def _finish(products: list[str], categories: list[str], raw_filters: Any) -> RecomsRequest:
    if len(products) > MAX_CONTEXT or len(categories) > MAX_CONTEXT:
        raise BadRequest(f"at most {MAX_CONTEXT} products and {MAX_CONTEXT} categories per request")
    try:
        filters = parse_filters(raw_filters)
    except RuleError as exc:
        raise BadRequest(str(exc), [{"field": exc.where, "reason": exc.message}]) from None
    return RecomsRequest(products, categories, filters)


@dataclass(slots=True)
class Prepared:
    """A request made ready to score: the configuration that answers it, the models' state it is scored
    with, and what of the contact it reads."""

    ds: DataSource
    variant_id: int
    state: AccountModels
    cacheable: bool  # the answer depends on nothing of the contact: it may be reused (answer_cache)
    cacheable_without_history: bool = False  # ... when the contact has no history (or is unknown)
    cacheable_with_history: bool = False  # ... to this contact, until their history changes
    reads_history: bool = False
    reads_contact: bool = False
    history: Any = None
    contact: dict[str, Any] | None = None


@dataclass(slots=True)
class TokenAnswer:
    """What the ES-TOKEN endpoint answers: the products' JSON, or the error; from the moment the token was
    accepted, the next token (errors included, so the app is never left without one)."""

    body: bytes | None
    next_token: str | None = None
    error: Exception | None = None
    recommendation_id: str | None = None


def _has_history(marked: tuple[int, int | None] | None) -> bool:
    """Whether a contact (its live id and history mark) has events to read: not when it is gone or never
    had an interaction (no mark)."""
    return marked is not None and marked[1] is not None


def _history_of(reads: DriverConnections, account_id: int, marked: tuple[int, int | None] | None) -> Any:
    """The live contact's newest events (none when `_has_history` says so)."""
    if not _has_history(marked):
        return activity.NO_HISTORY
    return activity.contact_history(reads, account_id, marked[0], HISTORY_LIMIT)


def _exchange_in_place(tokens: TokenStore) -> Callable[[list[str]], Awaitable[list | None]] | None:
    """How a batch of token exchanges runs on the event loop, for the stores where that is cheaper than a
    thread: SQLite (a local commit without fsync, None when another writer holds the lock) and Redis (a
    script call awaited on the loop). PostgreSQL's driver blocks: its batches go to a thread."""
    if isinstance(tokens, SqlTokenStore) and tokens.connections.sqlite:
        async def local(batch: list[str]) -> list | None:
            return tokens.try_exchange_many(batch)

        return local
    if isinstance(tokens, RedisTokenStore):
        return tokens.exchange_many_async
    return None


class Recommendations:
    def __init__(
        self, engine: sa.Engine, datasources: DataSources, serving: ServingEngine, tokens: TokenStore,
        directory: AccountDirectory, log: RecommendationLog, answers: AnswerCache | None = None,
        reads: DriverConnections | None = None, contact_answers: AnswerCache | None = None,
    ) -> None:
        self.engine = engine
        self.reads = reads or DriverConnections(engine)  # the hot path's one-statement reads
        self.answers = answers or AnswerCache(0)
        self.contact_answers = contact_answers or AnswerCache(0)  # returning customers' (answer_cache)
        self.log = log
        if self.reads.sqlite:  # the loop writes its lists itself (see services.attribution)
            log.write_on_loop(self.reads)
        self.datasources = datasources
        self.serving = serving
        self.tokens = tokens
        self.exchanges = TokenExchanges(tokens, in_place=_exchange_in_place(tokens))
        self.off_loop = OffLoop(inline=self.reads.sqlite)  # SQLite's reads are local and short: in place
        # Where the token exchange does not read them (Redis' tokens), every personal request reads its
        # contact's mark: on PostgreSQL the requests waiting for one share a statement.
        self.marks = BatchedReads("history-marks", functools.partial(history_marks.live_marks, self.reads),
                                  inline=self.reads.sqlite)
        self.directory = directory
        self.known_contacts = KnownContacts(share_lookups=not self.off_loop.inline)
        self.queries = ParsedQueries()

    def stop(self) -> None:
        """Answer what is queued off the loop, then end those threads (the server's shutdown)."""
        self.exchanges.stop()
        self.off_loop.stop()
        self.marks.stop()

    async def by_token(
        self, token: str | None, ds_raw: str, query_string: bytes, body: bytes | None,
    ) -> TokenAnswer:
        """The whole ES-TOKEN request (SPEC §2): exchange the token, find the account and the data source,
        parse the context, score, apply rules and fallback, join the products' JSON.

        The token store not answering raises (nothing was spent); anything after the exchange is answered
        with the next token.
        """
        if not token:
            return TokenAnswer(None, None, Unauthorized(MISSING_TOKEN))
        exchanged = await self.exchanges.exchange(token) if len(token) <= MAX_TOKEN_CHARS else None
        if exchanged is None:
            return TokenAnswer(None, None, Unauthorized(SPENT_TOKEN))
        grant, next_token = exchanged
        try:
            ds_id = datasource_id(ds_raw)
            account = self.directory.account(grant.account_id)
            if account is None:
                raise Unauthorized(SPENT_TOKEN)
            req = parse_body(_json(body)) if body else self.queries.parse(query_string)
            products, recommendation_id = await self.serve(account, ds_id, grant.contact_id, req, grant.history)
            return TokenAnswer(products, next_token, recommendation_id=recommendation_id)
        except Exception as exc:  # answered with the next token; the route turns it into a problem
            return TokenAnswer(None, next_token, exc)

    async def for_contact(
        self, account: Account, ds_id: int, contact_id: int | None, ids: dict[str, str], req: RecomsRequest,
    ) -> tuple[bytes, str]:
        """A shop's server asking for a contact (v2): named by recoms' id, or else by the strongest verified
        identifier (one indexed statement, its answer kept a few seconds: services.known_contacts; an unknown
        contact gets the anonymous answer)."""
        if contact_id is None and ids:
            contact_id = await self.known_contacts.find(
                account.id, ids, lambda: self.off_loop.run(contacts.lookup_on, self.reads, account.id, ids))
        return await self.serve(account, ds_id, contact_id, req)

    async def serve(
        self, account: Account, ds_id: int, contact_id: int | None, req: RecomsRequest,
        marked: tuple[int, int | None] | None = None,
    ) -> tuple[bytes, str]:
        """The products' JSON array for the contact's variant of the data source, and the id of the list
        (logged for attribution: services.attribution, written off the request). `marked`: the live contact
        and its history mark when the caller read them already (a token exchange does)."""
        p = self._plan(account, ds_id, contact_id, req)
        ds = p.ds
        key = (ds.id, ds.updated_at, ds.variant_id, req.key)
        if p.reads_history or p.reads_contact:
            cache, key, answer = await self._read_contact(p, account.id, contact_id, key, marked)
        else:  # nothing of the contact to read: no coroutine to await
            cache, answer = self._kept(p, account.id, key)
        if answer is None:
            catalog, picked = self.serving.pick(account.id, ds, req.products, req.categories, req.filters,
                                                p.history, p.contact)
            # The products' JSON, and their ids as JSON for the recommendation log: both reused with the answer.
            answer = (b"[" + b",".join([catalog.fragments[i] for i in picked]) + b"]",
                      orjson.dumps([catalog.ids[i] for i in picked]).decode())
            if cache is not None:
                cache.put(account.id, p.state, key, answer)
        body, ids_json = answer
        return body, self.log.record(account.id, ds_id, p.variant_id, contact_id, ids_json)

    async def _read_contact(
        self, p: Prepared, account_id: int, contact_id: int | None, key: tuple,
        marked: tuple[int, int | None] | None,
    ) -> tuple[AnswerCache | None, tuple, tuple[bytes, list[str]] | None]:
        """What of the contact the answer reads (their history, their fields), onto `p`; and where the answer
        may be kept: (that cache or None, the answer's key in it, the answer found there or None). A
        returning customer's kept answer spares reading their history: its key holds their history's mark."""
        cache = answer = None
        if p.reads_history:
            if marked is None:
                marked = await self.marks.read((account_id, contact_id))
            if p.cacheable_with_history and _has_history(marked):
                cache, key = self.contact_answers, (*key, *marked)
                answer = cache.get(account_id, p.state, key)
            if answer is None:  # read after the mark: a write between them only costs a miss later
                p.history = (await self.off_loop.run(_history_of, self.reads, account_id, marked)
                             if _has_history(marked) else activity.NO_HISTORY)
        if p.reads_contact:
            p.contact = await self.off_loop.run(self._contact_fields, account_id, contact_id)
        if cache is None:
            cache, answer = self._kept(p, account_id, key)
        return cache, key, answer

    def _kept(self, p: Prepared, account_id: int, key: tuple) -> tuple[AnswerCache | None, Any]:
        """The answer cache an answer to anyone may be kept in (or None), and the answer found there."""
        if p.cacheable or (p.cacheable_without_history and (p.history is None or not p.history[0])):
            return self.answers, self.answers.get(account_id, p.state, key)
        return None, None

    def serve_products(
        self, account: Account, ds_id: int, contact_id: int | None, req: RecomsRequest,
        config: DataSource | None = None,
    ) -> list[Product]:
        """The same answer as products (the mobile SDK's shape, the console's preview); `config` serves
        that configuration of the data source (a variant, an unsaved draft) instead of choosing one."""
        p = self._prepare(account, ds_id, contact_id, req, config)
        return self.serving.recommend_products(
            account.id, p.ds, req.products, req.categories, req.filters, p.history, p.contact
        )

    def _prepare(
        self, account: Account, ds_id: int, contact_id: int | None, req: RecomsRequest,
        config: DataSource | None = None,
    ) -> Prepared:
        """`_plan`, then the contact's history and attributes read in place (the console's, the SDK's calls)."""
        prepared = self._plan(account, ds_id, contact_id, req, config)
        if prepared.reads_history:
            prepared.history = _history_of(self.reads, account.id,
                                           history_marks.live_mark(self.reads, account.id, contact_id))
        if prepared.reads_contact:
            prepared.contact = self._contact_fields(account.id, contact_id)
        return prepared

    def _plan(
        self, account: Account, ds_id: int, contact_id: int | None, req: RecomsRequest,
        config: DataSource | None = None,
    ) -> Prepared:
        """Plan, the contact's variant of the data source, context checks, and what of the contact the
        answer reads (no I/O: the data sources and models are in memory)."""
        require_recommendations(account)
        if config is None:
            variant = variants.choose(self.datasources.cached(account.id, ds_id), contact_id)
            ds, variant_id = variant.datasource, variant.id
        else:
            ds, variant_id = config, variants.CONTROL_ID
        state = self.serving.state(account.id)
        bound = state.bind(ds)
        if bound.needs == "products" and not req.products:
            raise BadRequest(f"data source {ds_id} ({ds.algorithm}) needs products: pass ?products=<id>")
        if bound.needs == "category" and not req.categories:
            raise BadRequest(f"data source {ds_id} ({ds.algorithm}) needs a category: pass ?category=<name>")
        known = contact_id is not None
        return Prepared(ds, variant_id, state, bound.cacheable, bound.cacheable_without_history,
                        bound.cacheable_with_history,
                        reads_history=known and bound.uses_history,
                        reads_contact=known and depends_on_contact_fields(ds.rules))

    def _contact_fields(self, account_id: int, contact_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            found = contacts.get_contact(conn, account_id, contact_id)
        return found["attributes"] if found else None
