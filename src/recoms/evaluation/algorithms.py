"""Algorithm names -> Recommender classes (platform algorithms and baselines), and their parameters."""

from __future__ import annotations

import json
from typing import Any

from recoms.recommenders.base import Recommender
from recoms.recommenders.baselines import ALS, BPR, EASE, CooccurrenceCount, ItemKNN, Popularity, UserFrequency
from recoms.recommenders.registry import builtin_names, get_algorithm, plugins

BASELINES: dict[str, type[Recommender]] = {
    cls.name: cls for cls in (Popularity, UserFrequency, ItemKNN, ALS, BPR, EASE, CooccurrenceCount)
}
# What `recoms evaluate` runs when no --algorithms are given.
DEFAULT_ALGORITHMS = {
    "basket_completion": ["popularity", "cooccurrence", "itemknn"],
    "default": ["popularity", "user_frequency", "itemknn", "als", "bpr", "ease"],
}


class UnknownAlgorithm(KeyError):
    def __str__(self) -> str:
        return f"unknown algorithm {self.args[0]!r}; available: {', '.join(available())}"


def available() -> list[str]:
    """Every name `resolve` accepts: the installed platform algorithms, plugins, then the baselines."""
    return [*builtin_names(), *sorted(plugins()), *BASELINES]


def resolve(name: str) -> type[Recommender]:
    if name in BASELINES:
        return BASELINES[name]
    try:
        return get_algorithm(name)
    except (KeyError, ImportError) as exc:
        raise UnknownAlgorithm(name) from exc


def default_algorithms(protocol: str) -> list[str]:
    return DEFAULT_ALGORITHMS.get(protocol, DEFAULT_ALGORITHMS["default"])


def tuning_grid(cls: type[Recommender]) -> list[dict[str, Any]]:
    """The small grid a class declares in `tuning_grid` (none: only its defaults are tried)."""
    return [dict(point) for point in getattr(cls, "tuning_grid", None) or [{}]]


def parse_params(text: str | None, what: str = "--params") -> dict[str, Any]:
    """A JSON object of parameters; ValueError with a readable message otherwise."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc.msg} at character {exc.pos}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, e.g. '{{\"factors\": 64}}'")
    return value


def parse_params_per_algorithm(text: str | None, algorithms: list[str]) -> dict[str, dict[str, Any]]:
    """'{"als": {"factors": 64}}' -> parameters per algorithm; names must be among `algorithms`."""
    value = parse_params(text)
    stray = sorted(set(value) - set(algorithms))
    if stray:
        raise ValueError(f"--params names algorithm(s) not evaluated: {', '.join(stray)}")
    for name, params in value.items():
        if not isinstance(params, dict):
            raise ValueError(f"--params: the parameters of {name} must be a JSON object")
    return value


def instantiate(name: str, params: dict[str, Any]) -> Recommender:
    """The algorithm with `params`; ValueError naming the algorithm when a parameter is unknown."""
    cls = resolve(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"{name}: {exc}") from exc
