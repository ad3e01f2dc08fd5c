"""`recoms offline recommend`: fit one algorithm on a file and write the top K of every user or cart.

A platform algorithm is fitted as a shop's training fits it (`training.tuning`): the defaults for the kind
of shop the file shows, tuned on the file's newest orders; `--no-tune` fits the raw defaults. Whether the
users' own items may come back (`--include-seen`) tells personal which way to tune.

Users nobody knows (no interaction in the file) and queries whose algorithm returns fewer than K
candidates are filled with the most popular items they have not seen, so every query gets K rows
whenever the catalogue has K items left for it.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recoms.evaluation.algorithms import instantiate, resolve
from recoms.evaluation.data import DataError, Dataset, load_dataset, read_table
from recoms.evaluation.queries import context_queries, history_queries
from recoms.evaluation.ranking import fill_with_popular, rank
from recoms.recommenders.base import Interactions, Items, Query, Recommender
from recoms.training import tuning
from recoms.training.tuning import Report

DEFAULT_TIME_FACTOR = 2.0  # as RECOMS_TUNING_TIME_FACTOR: tuning takes at most 2x the untuned fit


@dataclass
class OfflineRun:
    """What a run did, for the command's summary line and the throughput measurement."""

    queries: int
    rows: int
    unknown: int  # users, or context items, the interactions file does not know
    fit_seconds: float  # tuning included
    score_seconds: float
    write_seconds: float
    tuning: Report | None = None


def read_users(path: Path) -> list[str]:
    """One user id per line (blank lines and a `user_id` header skipped), first occurrence kept."""
    try:
        lines = [line.strip() for line in Path(path).read_text(encoding="utf-8-sig").splitlines()]
    except OSError as exc:
        raise DataError(f"{Path(path).name}: cannot read ({exc})") from exc
    if lines and lines[0].lower() == "user_id":
        lines = lines[1:]
    users = list(dict.fromkeys(line for line in lines if line))
    if not users:
        raise DataError(f"{Path(path).name}: no user ids")
    return users


def read_contexts(path: Path) -> tuple[list[str], list[list[str]]]:
    """`query_id,item_id` rows -> query ids in order of appearance and each query's items."""
    frame = read_table(Path(path), ("query_id", "item_id"))
    codes, query_ids = pd.factorize(frame["query_id"])
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(query_ids) + 1))
    item_ids = frame["item_id"].to_numpy()[order]
    return [str(q) for q in query_ids], [list(item_ids[a:b]) for a, b in itertools.pairwise(bounds)]


def recommend_offline(
    interactions: Path, algorithm: str, k: int, out: Path, *, items: Path | None = None,
    params: dict[str, Any] | None = None, users: Path | None = None, contexts: Path | None = None,
    include_seen: bool = False, tune: bool = True, time_factor: float = DEFAULT_TIME_FACTOR,
) -> OfflineRun:
    """Fit `algorithm` on every interaction, rank for each user (or cart) and write `out` as CSV."""
    if (users is None) == (contexts is None):
        raise ValueError("give exactly one of --users and --context")
    instantiate(algorithm, params or {})  # a bad name or param fails before the data is read
    data = load_dataset(interactions, items)
    started = time.perf_counter()
    model, report = fit_as_shop(algorithm, data.interactions, data.items, params or {}, include_seen,
                                time_factor if tune else 0.0, regime=tune)
    fitted = time.perf_counter()
    if users is not None:
        ids = read_users(users)
        queries, seen, unknown = _user_queries(data, ids)
    else:
        ids, baskets = read_contexts(contexts)
        queries, seen, unknown = _context_queries(data, baskets)
    n_items = data.interactions.n_items
    ranked = rank(model, queries, k, n_items, exclude=None if include_seen else seen)
    counts = np.bincount(data.interactions.item, minlength=n_items)
    popular = np.argsort(-counts, kind="stable").astype(np.int32)
    cold = np.array([len(q.history_items) + len(q.context) == 0 for q in queries], bool)
    ranked[cold] = np.pad(popular[:k], (0, max(0, k - len(popular))), constant_values=-1)  # nothing seen
    fill_with_popular(ranked, popular, None if include_seen else seen)
    scored = time.perf_counter()
    rows = write_recommendations(out, "user_id" if users is not None else "query_id", ids, ranked, data.item_ids)
    return OfflineRun(len(ids), rows, unknown, fitted - started, scored - fitted, time.perf_counter() - scored,
                      report)


def fit_as_shop(algorithm: str, interactions: Interactions, items: Items, params: dict[str, Any],
                include_seen: bool, time_factor: float = DEFAULT_TIME_FACTOR, regime: bool = True,
                ) -> tuple[Recommender, Report | None]:
    """The algorithm fitted the way a shop's training fits it (baselines: as given, no tuning).

    With `regime` false and no tuning: the class defaults, raw. Explicit `params` always win; personal is
    told whether the users' own items may come back (as a data source's `exclude_purchased` would).
    """
    cls = resolve(algorithm)
    if not cls.tuning_space:
        return instantiate(algorithm, params).fit(interactions, items), None
    explicit = dict(params)
    if "exclude_purchased" in cls.default_params:
        explicit.setdefault("exclude_purchased", not include_seen)
    return tuning.tune(cls, interactions, items, explicit=explicit, time_factor=time_factor,
                       start_from_regime=regime)


def _user_queries(data: Dataset, ids: list[str]) -> tuple[list[Query], sp.csr_matrix, int]:
    index = data.user_index()
    users = np.array([index.get(u, -1) for u in ids], np.int64)
    inter = data.interactions
    queries = history_queries(inter, users)
    seen = sp.csr_matrix(
        (np.ones(len(inter), np.float32), (inter.user, inter.item)), shape=(inter.n_users + 1, inter.n_items)
    )
    return queries, sp.csr_matrix(seen[np.where(users >= 0, users, inter.n_users)]), int((users < 0).sum())


def _context_queries(data: Dataset, baskets: list[list[str]]) -> tuple[list[Query], sp.csr_matrix, int]:
    index = data.item_index()
    coded = [np.array([index.get(i, -1) for i in basket], np.int64) for basket in baskets]
    unknown = sum(int((c < 0).sum()) for c in coded)
    contexts = [np.unique(c[c >= 0]).astype(np.int32) for c in coded]
    lengths = np.array([len(c) for c in contexts], np.int64)
    flat = np.concatenate(contexts) if contexts else np.zeros(0, np.int32)
    seen = sp.csr_matrix(
        (np.ones(len(flat), np.float32), (np.repeat(np.arange(len(contexts)), lengths), flat)),
        shape=(len(contexts), data.interactions.n_items),
    )
    return context_queries(contexts, int(data.interactions.ts.max(initial=0))), seen, unknown


def write_recommendations(
    out: Path, id_column: str, query_ids: list[str], ranked: np.ndarray, item_ids: np.ndarray
) -> int:
    """CSV `<id_column>,item_id,rank`: rank 1 best, one row per recommended item."""
    n, k = ranked.shape
    valid = ranked.ravel() >= 0
    frame = pd.DataFrame({
        id_column: np.repeat(np.asarray(query_ids, dtype=object), k)[valid],
        "item_id": item_ids[ranked.ravel()[valid]],
        "rank": np.tile(np.arange(1, k + 1), n)[valid],
    })
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    return len(frame)
