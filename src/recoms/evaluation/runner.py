"""One `recoms evaluate` run: tune each algorithm on validation, refit on train + validation, test once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recoms.evaluation.algorithms import default_algorithms, instantiate, resolve, tuning_grid
from recoms.evaluation.data import Dataset
from recoms.evaluation.metrics import coverage, ranking_metrics
from recoms.evaluation.queries import fold_queries
from recoms.evaluation.ranking import rank
from recoms.evaluation.splits import Fold, split
from recoms.recommenders.base import Items

TUNING_METRIC = "ndcg"


@dataclass
class Trial:
    """One point of a tuning grid, scored on the validation fold."""

    params: dict[str, Any]
    metrics: dict[str, float]
    seconds: float


@dataclass
class AlgorithmResult:
    name: str
    params: dict[str, Any]  # the parameters the test figures were measured with
    metrics: dict[str, float]  # hr, recall, ndcg, coverage on the test fold
    n_queries: int
    fit_seconds: float
    score_seconds: float
    seconds: float  # tuning included
    trials: list[Trial] = field(default_factory=list)
    note: str = ""


@dataclass
class Evaluation:
    dataset: str
    protocol: str
    k: int
    seed: int
    tuned: bool
    stats: dict[str, int]
    results: list[AlgorithmResult]
    seconds: float


def evaluate(
    data: Dataset, protocol: str, k: int = 10, algorithms: list[str] | None = None,
    params: dict[str, dict[str, Any]] | None = None, tune: bool = False, seed: int = 0, name: str = "",
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Every algorithm on the same folds; parameters given in `params` are fixed, the grid tunes the rest."""
    started = time.perf_counter()
    algorithms = algorithms or default_algorithms(protocol)
    params = params or {}
    for algorithm in algorithms:  # fail on a bad name or parameter before any work
        instantiate(algorithm, params.get(algorithm, {}))
    validation, test = split(data.interactions, protocol, seed)
    say = progress or (lambda _: None)
    results = []
    for algorithm in algorithms:
        say(f"{algorithm}: tuning" if tune else f"{algorithm}: fitting")
        results.append(_evaluate_one(algorithm, params.get(algorithm, {}), validation, test, data.items, k, tune))
        say(f"{algorithm}: {TUNING_METRIC}@{k} = {results[-1].metrics[TUNING_METRIC]:.4f}")
    return Evaluation(
        dataset=name, protocol=protocol, k=k, seed=seed, tuned=tune, stats=_stats(data, validation, test),
        results=results, seconds=time.perf_counter() - started,
    )


def _evaluate_one(
    algorithm: str, fixed: dict[str, Any], validation: Fold, test: Fold, items: Items, k: int, tune: bool
) -> AlgorithmResult:
    started = time.perf_counter()
    candidates = _unique([{**point, **fixed} for point in tuning_grid(resolve(algorithm))])
    trials = []
    if tune and len(candidates) > 1:
        serving = getattr(resolve(algorithm), "serving_params", frozenset())
        groups: dict[tuple, list[dict[str, Any]]] = {}  # one fit per learned-param combination
        for point in candidates:
            learned = tuple(sorted((key, value) for key, value in point.items() if key not in serving))
            groups.setdefault(learned, []).append(point)
        for learned, points in groups.items():
            started_fit = time.perf_counter()
            fitted = instantiate(algorithm, dict(learned)).fit(validation.train, items)
            fit_s = time.perf_counter() - started_fit
            for point in points:  # serving params are views of the one fit
                model = fitted.with_params({key: point[key] for key in point if key in serving})
                metrics, score_s = score_fold(model, validation, k)
                trials.append(Trial(point, metrics, fit_s + score_s))
                fit_s = 0.0
            del fitted, model
        best = max(trials, key=lambda t: t.metrics[TUNING_METRIC]).params  # first best on ties
    else:
        best = fixed
    metrics, fit_s, score_s, note = run_fold(algorithm, best, test, items, k)
    return AlgorithmResult(
        name=algorithm, params={**instantiate(algorithm, best).params}, metrics=metrics, n_queries=len(test),
        fit_seconds=fit_s, score_seconds=score_s, seconds=time.perf_counter() - started, trials=trials, note=note,
    )


def run_fold(
    algorithm: str, params: dict[str, Any], fold: Fold, items: Items, k: int
) -> tuple[dict[str, float], float, float, str]:
    """(metrics, fit seconds, scoring seconds, note) of one algorithm fitted on the fold's training data."""
    model = instantiate(algorithm, params)
    started = time.perf_counter()
    model.fit(fold.train, items)
    fitted = time.perf_counter()
    metrics, score_s = score_fold(model, fold, k)
    return metrics, fitted - started, score_s, getattr(model, "note", "")


def score_fold(model: Any, fold: Fold, k: int) -> tuple[dict[str, float], float]:
    """(metrics, scoring seconds) of a fitted model on the fold's queries."""
    started = time.perf_counter()
    allowed = fold.train_items()
    ranked = rank(model, fold_queries(fold), k, fold.train.n_items, exclude=fold.exclude, allowed=allowed)
    metrics = {**ranking_metrics(ranked, fold.targets), "coverage": coverage(ranked, int(allowed.sum()))}
    return metrics, time.perf_counter() - started


def _unique(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for point in points:
        key = tuple(sorted(point.items()))
        if key not in seen:
            seen.add(key)
            out.append(point)
    return out


def _stats(data: Dataset, validation: Fold, test: Fold) -> dict[str, int]:
    inter = data.interactions
    return {
        "users": len(np.unique(inter.user)), "items": len(np.unique(inter.item)),
        "interactions": len(inter), "baskets": len(np.unique(inter.basket[inter.basket >= 0])),
        "validation_queries": len(validation), "test_queries": len(test),
    }
