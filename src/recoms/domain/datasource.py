"""A data source: which algorithm, how many products, its params, rules and fallback (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recoms.domain import rules as rules_mod
from recoms.domain.rules import FallbackStep, Rule, RuleError
from recoms.recommenders.registry import get_algorithm, plugins

MAX_SIZE = 100
DEFAULT_SIZE = 10


class DataSourceError(ValueError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class DataSource:
    id: int
    account_id: int
    name: str
    algorithm: str
    size: int
    params: dict[str, Any]
    rules: tuple[Rule, ...]
    fallback: tuple[FallbackStep, ...]
    raw_rules: list[Any]
    raw_fallback: list[Any] | None
    updated_at: int = 0

    @property
    def available(self) -> bool:
        """False when its algorithm is a plugin no longer installed: its requests get the fallback."""
        if self.algorithm == "custom":
            return self.params.get("plugin") in plugins()
        return self.algorithm in known_algorithms()

    def to_json(self) -> dict[str, Any]:
        """What was saved, as it was sent; `unavailable` says why when it cannot run as configured."""
        body = self._body()
        if not self.available:
            body["unavailable"] = f"the plugin {self.params.get('plugin')!r} is not installed: the fallback answers"
        return body

    def _body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "algorithm": self.algorithm,
            "size": self.size,
            "params": self.params,
            "rules": [rules_mod.to_json(r) for r in self.rules],
            "fallback": [{"algorithm": s.algorithm, "params": s.params} for s in self.fallback],
        }


def known_algorithms() -> set[str]:
    from recoms.recommenders.registry import builtin_names

    return {*builtin_names(), "custom"}


def _check_params(algorithm: str, params: dict[str, Any], where: str = "params") -> dict[str, Any]:
    """Params must be ones the algorithm declares, of the type of their default."""
    if algorithm == "custom":
        plugin = params.get("plugin")
        if plugin not in plugins():
            installed = ", ".join(sorted(plugins())) or "none installed"
            raise DataSourceError(f"{where}.plugin", f"{plugin!r} is not an installed plugin ({installed})")
        inner = {k: v for k, v in params.items() if k != "plugin"}
        return {"plugin": plugin, **_check_params(plugin, inner, where)}
    cls = get_algorithm(algorithm)
    checked = {}
    for name, value in params.items():
        if name not in cls.default_params:
            allowed = ", ".join(sorted(cls.default_params)) or "none"
            raise DataSourceError(f"{where}.{name}", f"unknown parameter for {algorithm} (allowed: {allowed})")
        default = cls.default_params[name]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, (int, float)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            if isinstance(default, bool):
                kind = "a boolean (true or false)"
            elif isinstance(default, (int, float)):
                kind = "a non-negative number"
            else:
                kind = "a string" if isinstance(default, str) else type(default).__name__
            raise DataSourceError(f"{where}.{name}", f"must be {kind}")
        checked[name] = value
    return checked


def build(
    ds_id: int, account_id: int, body: dict[str, Any], updated_at: int = 0, stored: bool = False
) -> DataSource:
    """Validate a data-source JSON body; DataSourceError names the bad field or rule.

    A `stored` one was validated when it was saved: its algorithm and params are not checked against
    the installed plugins again (one may have been uninstalled since: then it is unavailable, not broken).
    """
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise DataSourceError("name", "must be a non-empty string of at most 200 characters")
    algorithm = body.get("algorithm")
    algorithms = known_algorithms()
    if algorithm not in algorithms and not stored:
        raise DataSourceError("algorithm", f"{algorithm!r} is not one of {', '.join(sorted(algorithms))}")
    size = body.get("size", DEFAULT_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
        raise DataSourceError("size", f"must be an integer from 1 to {MAX_SIZE}")
    params = body.get("params")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise DataSourceError("params", "must be an object")
    if not stored:
        params = _check_params(algorithm, params)
    raw_rules = body.get("rules")
    raw_rules = [] if raw_rules is None else raw_rules
    raw_fallback = body.get("fallback")
    try:
        rules = rules_mod.parse_rules(raw_rules)
        fallback = rules_mod.parse_fallback(raw_fallback, algorithms - {"custom"})
        for i, step in enumerate(fallback):
            if not stored:
                _check_params(step.algorithm, step.params, f"fallback[{i}].params")
    except RuleError as exc:
        raise DataSourceError(exc.where, exc.message) from None
    return DataSource(
        ds_id, account_id, name.strip(), algorithm, size, params, rules, fallback, raw_rules, raw_fallback,
        updated_at,
    )
