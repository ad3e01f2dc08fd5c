"""One `recoms evaluate` run: tune each algorithm on validation, refit on train + validation, test once.

Three ways to set an algorithm's params:
- `tune=True` (`--tune`, the "tuned" figures): the grid a baseline declares, or the search of a platform
  algorithm's `tuning_space`, scored on the validation fold — tuning by hand, for this data set;
- `tune=None` (the default): a platform algorithm is fitted as a shop's training fits it — its defaults for
  the kind of shop the training data shows, tuned on that data's own newest orders (`training.tuning`),
  never seeing the validation or test rows: "as a shop gets it"; baselines keep their given params;
- `tune=False` (`--no-tune`): every algorithm at its raw defaults and given params.
With `shop=True` a platform algorithm tuned by hand also gets its "as a shop gets it" figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recoms.evaluation.algorithms import default_algorithms, instantiate, resolve, tuning_grid
from recoms.evaluation.data import Dataset
from recoms.evaluation.metrics import coverage, ranking_metrics
from recoms.evaluation.offline import fit_as_shop
from recoms.evaluation.queries import fold_queries
from recoms.evaluation.ranking import rank
from recoms.evaluation.splits import Fold, split
from recoms.recommenders.base import Items
from recoms.training import tuning
from recoms.training.holdout import Holdout
from recoms.training.regime import detect

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
    shop: dict[str, Any] | None = None  # "as a shop gets it": metrics, params, tuning status, seconds


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
    params: dict[str, dict[str, Any]] | None = None, tune: bool | None = False, seed: int = 0, name: str = "",
    progress: Callable[[str], None] | None = None, shop: bool = False,
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
        fixed = params.get(algorithm, {})
        say(f"{algorithm}: tuning" if tune else f"{algorithm}: fitting")
        if resolve(algorithm).tuning_space and tune is not False:
            result = _evaluate_platform(algorithm, fixed, validation, test, data.items, k, protocol, tune is True)
        else:
            result = _evaluate_one(algorithm, fixed, validation, test, data.items, k, bool(tune))
        if shop and tune is True and resolve(algorithm).tuning_space:
            say(f"{algorithm}: as a shop gets it")
            result.shop = _as_shop(algorithm, fixed, test, data.items, k, protocol)
        results.append(result)
        say(f"{algorithm}: {TUNING_METRIC}@{k} = {results[-1].metrics[TUNING_METRIC]:.4f}"
            + (f" (as a shop gets it: {result.shop['metrics'][TUNING_METRIC]:.4f})" if result.shop else ""))
    return Evaluation(
        dataset=name, protocol=protocol, k=k, seed=seed, tuned=bool(tune), stats=_stats(data, validation, test),
        results=results, seconds=time.perf_counter() - started,
    )


def _mode(algorithm: str, protocol: str, fixed: dict[str, Any]) -> dict[str, Any]:
    """What a shop tells personal through its data source: may bought items come back (repeat protocol)?"""
    if "exclude_purchased" in resolve(algorithm).default_params:
        return {"exclude_purchased": protocol != "last_basket_repeat", **fixed}
    return dict(fixed)


def _as_shop(algorithm: str, fixed: dict[str, Any], fold: Fold, items: Items, k: int, protocol: str
             ) -> dict[str, Any]:
    """The test figures of the algorithm fitted on the fold's training data as a shop's training fits it."""
    started = time.perf_counter()
    model, report = fit_as_shop(algorithm, fold.train, items, _mode(algorithm, protocol, fixed),
                                include_seen=protocol == "last_basket_repeat")
    fitted = time.perf_counter() - started
    metrics, score_s = score_fold(model, fold, k)
    return {"metrics": metrics, "params": report.chosen if report else {}, "status": report.status if report else "",
            "note": report.note if report else "", "held_out": report.figures if report else {},
            "fit_seconds": fitted, "score_seconds": score_s, "seconds": time.perf_counter() - started}


def _evaluate_platform(algorithm: str, fixed: dict[str, Any], validation: Fold, test: Fold, items: Items, k: int,
                       protocol: str, by_hand: bool) -> AlgorithmResult:
    """A platform algorithm: searched on the validation fold (by hand), or fitted as a shop gets it."""
    started = time.perf_counter()
    cls = resolve(algorithm)
    explicit = _mode(algorithm, protocol, fixed)
    if not by_hand:
        shop = _as_shop(algorithm, fixed, test, items, k, protocol)
        return AlgorithmResult(
            name=algorithm, params=shop["params"], metrics=shop["metrics"], n_queries=len(test),
            fit_seconds=shop["fit_seconds"], score_seconds=shop["score_seconds"],
            seconds=time.perf_counter() - started, note=f"as a shop gets it: {shop['status']}", shop=shop,
        )
    regime = detect(validation.train)
    start = tuning.start_params(cls, regime, explicit)
    space = {key: v for key, v in cls.tuning_space.items() if key not in explicit and key not in regime.frozen()}
    best, n_trials, ndcg = tuning.search_all(cls, holdout_of(validation), items, start, space)
    searched = time.perf_counter() - started
    metrics, fit_s, score_s, note = run_fold(algorithm, best, test, items, k)
    trials = [Trial({key: best[key] for key in space}, {TUNING_METRIC: ndcg}, searched)]  # the point chosen
    return AlgorithmResult(
        name=algorithm, params={**instantiate(algorithm, best).params}, metrics=metrics, n_queries=len(test),
        fit_seconds=fit_s, score_seconds=score_s, seconds=time.perf_counter() - started, trials=trials,
        note=note or f"{n_trials} settings searched on validation",
    )


def holdout_of(fold: Fold) -> Holdout:
    """A protocol's fold as the held-out queries tuning scores on."""
    return Holdout("the validation fold", fold.train, fold_queries(fold), fold.targets, fold.exclude)


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
