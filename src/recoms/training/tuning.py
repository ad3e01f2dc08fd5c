"""Every shop's models tune themselves on its own data, in the open.

For an algorithm that declares a `tuning_space`: start from the class defaults, the shop's regime
(`regime`) and any explicit params (which always win and are never tuned); hold out the shop's newest
events (`holdout`); fit once on the rest and search the serving params on that one fit (coordinate
ascent: one param at a time over its values, until a round changes nothing); then refit with other
values of the learned params while the time budget lasts (`time_factor` times the first fit). The
chosen params must beat the starting point by more than the noise of the held-out figures (one paired
standard error), else the starting point stays. The model is then fitted on everything with them, and
the report says what was chosen and how it did against popularity and buying again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from recoms.recommenders.base import CART, PURCHASE, VIEW, WISHLIST, Candidates, Interactions, Items, Recommender
from recoms.training import holdout as ho
from recoms.training.regime import Regime, detect

K = 10
MAX_ROUNDS = 3
CHUNK = 1000  # held-out queries scored at once (bounds the memory of the parts)
MIN_BUDGET_SECONDS = 5.0  # a small shop trains in a second or two: tuning it still needs a few seconds,
MAX_FLOOR_FACTOR = 2.5  # but no more than this many times its training,
ALWAYS_SECONDS = 1.0  # unless that is below a second (a tiny shop tunes in a fraction of one)


def budget_for(time_factor: float, untuned_seconds: float) -> float:
    """Seconds the tuning may take: `time_factor` times the untuned training (0: no tuning)."""
    if time_factor <= 0:
        return 0.0
    floor = min(MIN_BUDGET_SECONDS, max(MAX_FLOOR_FACTOR * untuned_seconds, ALWAYS_SECONDS))
    return max(time_factor * untuned_seconds, floor)


def start_params(cls: type[Recommender], regime: Regime | None, explicit: dict[str, Any]) -> dict[str, Any]:
    """Where tuning starts, and what an untuned snapshot serves: class defaults, the regime's, explicit ones."""
    return {**cls.default_params, **(regime.defaults(cls.name) if regime else {}), **explicit}


@dataclass
class Report:
    """What tuning did for one algorithm, for `recoms train`, the snapshot and the quality endpoint."""

    algorithm: str
    status: str  # "tuned", "defaults" (nothing beat them), "too little data", "not tuned"
    params: dict[str, Any]  # every param of the fitted model
    chosen: dict[str, Any]  # the params that differ from the class defaults (regime, tuning, explicit)
    explicit: dict[str, Any]  # given by the caller (a data source, --params): never tuned
    note: str = ""
    holdout: str = ""  # what was held out
    figures: dict[str, dict[str, float]] = field(default_factory=dict)  # chosen, start, popularity, buy_again
    trials: int = 0
    seconds: float = 0.0
    variants: list[dict[str, Any]] = field(default_factory=list)  # {"when", "chosen", "figures"}
    extra: dict[str, dict[str, float]] = field(default_factory=dict)  # named points' figures (data sources)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def summary(values: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: round(float(v.mean()), 4) if len(v) else 0.0 for name, v in values.items() if name != "recall"}


def _differs(params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if defaults.get(k) != v}


class _Scorer:
    """Scores points of serving params of one fitted model on one holdout (per-query NDCG and HR)."""

    def __init__(self, model: Recommender, holdout: ho.Holdout, popular: np.ndarray) -> None:
        self.model, self.holdout, self.popular = model, holdout, popular
        self.seen: dict[tuple, dict[str, np.ndarray]] = {}
        self.caches: dict[int, dict[str, Any]] = {}  # per chunk of queries: the model's shared work

    def __call__(self, points: Sequence[dict[str, Any]]) -> list[dict[str, np.ndarray]]:
        fresh = [p for p in points if _key(p) not in self.seen]
        fresh = list({_key(p): p for p in fresh}.values())
        if fresh:
            per_point: list[list[Candidates]] = [[] for _ in fresh]
            queries = self.holdout.queries
            for start in range(0, len(queries), CHUNK):
                chunk = queries[start:start + CHUNK]
                cache = self.caches.setdefault(start, {})
                for i, candidates in enumerate(self.model.recommend_variants(chunk, fresh, cache)):
                    per_point[i].extend(candidates)
            for point, candidates in zip(fresh, per_point, strict=True):
                self.seen[_key(point)] = ho.measure(candidates, self.holdout, self.popular, K)
        return [self.seen[_key(p)] for p in points]


def _key(point: dict[str, Any]) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in point.items()))


def search(score: Callable[[Sequence[dict[str, Any]]], list[dict[str, np.ndarray]]], start: dict[str, Any],
           space: dict[str, tuple[Any, ...]], deadline: float = float("inf")) -> tuple[dict[str, Any], int]:
    """Coordinate ascent over `space` from `start` by mean NDCG: (best point, points scored)."""
    best = dict(start)
    best_ndcg = float(score([best])[0]["ndcg"].mean())
    tried = 1
    for _ in range(MAX_ROUNDS):
        moved = False
        for name, values in space.items():
            if time.monotonic() > deadline:
                return best, tried
            points = [{**best, name: v} for v in values if v != best.get(name)]
            if not points:
                continue
            results = score(points)
            tried += len(points)
            for point, result in zip(points, results, strict=True):
                ndcg = float(result["ndcg"].mean())
                if ndcg > best_ndcg + 1e-12:
                    best, best_ndcg, moved = point, ndcg, True
        if not moved:
            break
    return best, tried


def better_than_noise(candidate: np.ndarray, baseline: np.ndarray) -> bool:
    """Is the paired mean gain above one standard error (not a lucky draw of held-out queries)?"""
    diff = candidate - baseline
    if len(diff) < 2:
        return False
    return float(diff.mean()) > float(diff.std(ddof=1) / np.sqrt(len(diff)))


def search_all(cls: type[Recommender], holdout: ho.Holdout, items: Items, start: dict[str, Any],
               space: dict[str, tuple[Any, ...]]) -> tuple[dict[str, Any], int, float]:
    """Tuning without a budget (`recoms evaluate --tune`): every learned value refitted, the serving params
    searched on each fit; (the best point by mean NDCG on `holdout`, points scored, its NDCG)."""
    serving = {k: v for k, v in space.items() if k in cls.serving_params}
    learned = [(k, v) for k, v in space.items() if k not in cls.serving_params]
    popular = ho.popular_items(holdout.train)
    combos: list[dict[str, Any]] = [{}]
    for name, values in learned:
        combos = [{**c, name: v} for c in combos for v in dict.fromkeys((start.get(name), *values))]
    best, best_ndcg, trials = dict(start), -1.0, 0
    for combo in combos:
        point = {**start, **combo}
        scorer = _Scorer(cls(**point).fit(holdout.train, items), holdout, popular)
        found, tried = search(scorer, point, serving)
        trials += tried
        ndcg = float(scorer([found])[0]["ndcg"].mean())
        if ndcg > best_ndcg:
            best, best_ndcg = found, ndcg
        del scorer
    return best, trials, best_ndcg


def baseline_figures(holdout: ho.Holdout, popular: np.ndarray, history: bool) -> dict[str, dict[str, float]]:
    """Popularity, and (for history-based algorithms) buying the usual items again, on the same holdout."""
    empty = [(np.zeros(0, np.int32), np.zeros(0, np.float32))] * len(holdout)
    out = {"popularity": summary(ho.measure(empty, holdout, popular, K))}
    if history:
        rank_of = np.empty(holdout.train.n_items, np.float32)
        rank_of[popular] = np.arange(len(popular), 0, -1) / (len(popular) + 1.0)
        again = []
        for q in holdout.queries:  # own purchases, most bought first; popularity breaks ties
            ids, counts = np.unique(q.history_items[q.history_kinds == PURCHASE], return_counts=True)
            again.append((ids.astype(np.int32), (counts + rank_of[ids]).astype(np.float32)))
        out["buy_again"] = summary(ho.measure(again, holdout, popular, K))
    return out


def holdouts_for(cls: type[Recommender], inter: Interactions, params: dict[str, Any], regime: Regime,
                 seed: int, shared: dict[str, Any] | None = None) -> list[ho.Holdout | None]:
    """The holdout of the served mode, then those of the variants (same held-out rows, other targets).

    shared: holdouts kept for the next algorithm of one training (also_bought and cross_sell share the
    completions, and through the same training rows the co-purchase lists their fits compute).
    """
    if cls.needs == "products":
        shared = {} if shared is None else shared
        if "completions" not in shared:
            shared["completions"] = ho.completions(inter, seed=seed)
        return [shared["completions"]]
    if not cls.uses_history:
        return [None]
    if regime.name == "views":
        return [ho.last_days(inter, seed=seed)]
    leave_in = not params.get("exclude_purchased", True)
    return [ho.last_orders(inter, bought_again=leave_in, seed=seed),
            ho.last_orders(inter, bought_again=not leave_in, seed=seed)]


def tune(
    cls: type[Recommender], inter: Interactions, items: Items, explicit: dict[str, Any] | None = None,
    time_factor: float = 2.0, budget: float | None = None, regime: Regime | None = None, variants: bool = False,
    seed: int = 0, extra: dict[str, dict[str, Any]] | None = None, start_from_regime: bool = True,
    full: Recommender | None = None, fit_seconds: float | None = None, shared: dict[str, Any] | None = None,
) -> tuple[Recommender, Report]:
    """Fit `cls` on `inter` with params tuned on the shop's own held-out events (see the module doc).

    explicit: params that win and are not tuned. The tuning may take `budget` seconds (default:
    `time_factor` times the fit on everything; 0: no tuning, the regime's defaults). variants: also tune
    the other way of treating bought items (personal), for data sources that ask for it. extra: named
    serving params (a data source's) whose held-out figures the report should carry. full: the model
    already fitted on everything with the starting params (kept unless a learned param changes), and
    fit_seconds what that fit took: tuning refits on the held-out split, so a budget below that is none.
    shared: what one training's tunings share (`holdouts_for`).
    """
    started = time.monotonic()
    explicit = dict(explicit or {})
    regime = regime or detect(inter)
    defaults = dict(cls.default_params)
    start = start_params(cls, regime if start_from_regime else None, explicit)
    space = {k: v for k, v in cls.tuning_space.items() if k not in explicit and k not in regime.frozen()}
    kinds = set(np.unique(inter.kind).tolist())
    space = {k: v for k, v in space.items() if _relevant(k, kinds)}
    if full is None:  # what an untuned training serves: kept unless a learned param changes
        fit_started = time.monotonic()
        full = cls(**start).fit(inter, items)
        fit_seconds = time.monotonic() - fit_started
    if budget is None:
        budget = budget_for(time_factor, time.monotonic() - started)
    deadline = time.monotonic() + budget

    def done(status: str, note: str, params: dict[str, Any], **more: Any) -> tuple[Recommender, Report]:
        model = full
        if any(params.get(k) != start.get(k) for k in params if k not in cls.serving_params):
            model = cls(**params).fit(inter, items)
        model.params = dict(params)
        model.variants = list(more.pop("variant_params", []))
        rep = Report(cls.name, status, dict(params), _differs(params, defaults), explicit, note,
                     seconds=round(time.monotonic() - started, 2), **more)
        return model, rep

    # The held-out fit costs about what the full one did: a budget it would overrun is no budget.
    if not space or budget <= 0 or budget < 1.2 * (fit_seconds or 0.0):
        why = ("nothing to tune: explicit params" if not space else "tuning is off: the regime's defaults"
               if time_factor <= 0 else "no tuning time left in the budget: the regime's defaults")
        return done("not tuned", why, start)
    holdouts = holdouts_for(cls, inter, start, regime, seed, shared)
    main = holdouts[0]
    if main is None:
        return done("too little data", f"too little data to tune (fewer than {ho.MIN_QUERIES} contacts with an "
                    "earlier order to learn from): the defaults", start)
    serving = {k: v for k, v in space.items() if k in cls.serving_params}
    learned = {k: v for k, v in space.items() if k not in cls.serving_params}
    fit_started = time.monotonic()
    fitted = cls(**start).fit(main.train, items)
    fit_seconds = time.monotonic() - fit_started
    popular = ho.popular_items(main.train)
    scorer = _Scorer(fitted, main, popular)
    start_scores = scorer([start])[0]
    other = holdouts[1] if variants and len(holdouts) > 1 else None
    share = 0.6 if other is not None else 1.0  # of the time left: the rest for the other mode
    best, trials = search(scorer, start, serving, time.monotonic() + share * (deadline - time.monotonic()))
    best_scores = scorer([best])[0]
    variant_params, variant_reports, other_scorer = [], [], None
    if other is not None and time.monotonic() < deadline:  # the other way of treating bought items, same fit
        when = {"exclude_purchased": not best.get("exclude_purchased", True)}
        other_scorer = _Scorer(fitted, other, popular)
        v_start = {**best, **when}
        v_best, v_trials = search(other_scorer, v_start, serving, deadline)
        trials += v_trials
        v_scores, v_start_scores = other_scorer([v_best, v_start])
        if not better_than_noise(v_scores["ndcg"], v_start_scores["ndcg"]):
            v_best, v_scores = v_start, v_start_scores
        variant_params.append((when, {k: v for k, v in v_best.items() if k in cls.serving_params}))
        variant_reports.append({"when": when, "chosen": _differs(v_best, best), "holdout": other.what,
                                "figures": {"chosen": summary(v_scores),
                                            **baseline_figures(other, popular, cls.uses_history)}})
    for name, values in learned.items():  # each value a refit; with time for it and for the final refit
        for value in values:
            if value == best.get(name) or time.monotonic() + fit_seconds * 2.5 > deadline:
                continue
            point = {**best, name: value}
            refit_scorer = _Scorer(cls(**point).fit(main.train, items), main, popular)
            scores = refit_scorer([point])[0]
            trials += 1
            if scores["ndcg"].mean() > best_scores["ndcg"].mean():
                best, best_scores, scorer = point, scores, refit_scorer
            del refit_scorer
    status, note = "tuned", f"{trials} settings scored"
    if trials == 1:
        status, note = "defaults", "no time left to try other settings"
    elif not better_than_noise(best_scores["ndcg"], start_scores["ndcg"]):
        status, note = "defaults", f"no setting of {trials} beat the starting point by more than the noise"
        best, best_scores, scorer = start, start_scores, _Scorer(fitted, main, popular)
        scorer.seen = {_key(start): start_scores}
    figures = {"chosen": summary(best_scores), "start": summary(start_scores),
               **baseline_figures(main, popular, cls.uses_history)}
    named = {}
    for name, point in (extra or {}).items():  # a data source's own params, over what was chosen
        merged, judge = dict(best), scorer
        for when, chosen in variant_params:
            if all(point.get(k) == v for k, v in when.items()):  # scored on the other mode's targets
                merged, judge = {**best, **chosen}, other_scorer
        merged.update({k: v for k, v in point.items() if k in cls.serving_params})
        named[name] = summary(judge([merged])[0])
    del fitted, scorer
    return done(status, note, best, holdout=main.what, figures=figures, trials=trials,
                variants=variant_reports, extra=named, variant_params=variant_params)


def _relevant(param: str, kinds: set[int]) -> bool:
    """Weights of event kinds the shop does not have change nothing: not worth a trial."""
    needs = {"view_weight": {VIEW}, "cart_weight": {CART, WISHLIST}}.get(param)
    return needs is None or bool(needs & kinds)
