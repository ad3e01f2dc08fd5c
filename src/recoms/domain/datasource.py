"""A data source: which algorithm, how many products, its params, rules and fallback (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from recoms.domain import rules as rules_mod
from recoms.domain import variants as variants_mod
from recoms.domain.rules import FallbackStep, Rule, RuleError
from recoms.domain.variants import Variant
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
    # A/B challengers (the control is this configuration itself), see domain/variants.py.
    variants: tuple[Variant, ...] = ()
    raw_variants: list[dict[str, Any]] | None = None
    variant_bounds: tuple[int, ...] = ()
    experiment_started_at: int | None = None
    variant_seq: int = 0  # the highest variant id handed out: ids are never reused
    variant_id: int = 0  # which variant's configuration this is (0: the data source's own)
    control_variant: Variant = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        control = Variant(variants_mod.CONTROL_ID, self.control_name, variants_mod.control_share(
            [v.share for v in self.variants]), self)
        object.__setattr__(self, "control_variant", control)

    @property
    def control_name(self) -> str:
        return variants_mod.default_name(variants_mod.CONTROL_ID)

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
        body = {"id": self.id, **self._config()}
        if self.variants:
            body["variants"] = [variants_mod.variant_json(raw, v.datasource._config())
                                for raw, v in zip(self.raw_variants or [], self.variants, strict=True)]
            body["experiment"] = {"startedAt": self.experiment_started_at,
                                  "controlShare": self.control_variant.share}
        return body

    def _config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "algorithm": self.algorithm,
            "size": self.size,
            "params": self.params,
            "rules": [rules_mod.to_json(r) for r in self.rules],
            "fallback": [{"algorithm": s.algorithm, "params": s.params} for s in self.fallback],
        }

    def config_body(self) -> dict[str, Any]:
        """The configuration alone, as a body `build` accepts (a variant's, when promoted)."""
        return {"name": self.name, "algorithm": self.algorithm, "size": self.size, "params": self.params,
                "rules": self.raw_rules, "fallback": self.raw_fallback}


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
    ds_id: int, account_id: int, body: dict[str, Any], updated_at: int = 0, stored: bool = False,
    experiment_started_at: int | None = None, variant_seq: int = 0,
) -> DataSource:
    """Validate a data-source JSON body; DataSourceError names the bad field or rule.

    A `stored` one was validated when it was saved: its algorithm and params are not checked against
    the installed plugins again (one may have been uninstalled since: then it is unavailable, not broken).
    Variants without an id get the next ones after `variant_seq` (ids are never reused: an id's figures
    always belong to one configuration).
    """
    base = _build_config(ds_id, account_id, body, updated_at, stored)
    raw_variants = body.get("variants")
    if raw_variants is None or raw_variants == []:
        return _replace(base, variant_seq=variant_seq) if variant_seq else base
    raw_variants, seq = _variant_ids(raw_variants, variant_seq)
    challengers = []
    for i, raw in enumerate(raw_variants):
        merged = {**base.config_body(), **{k: raw[k] for k in variants_mod.OVERRIDES if k in raw}}
        if "algorithm" in raw and "params" not in raw and raw["algorithm"] != base.algorithm:
            merged["params"] = {}  # params belong to an algorithm: another one starts from its defaults
        try:
            # Serving caches a binding per (id, updated_at): a variant's configuration gets a key of its own.
            config = _build_config(ds_id, account_id, merged, updated_at * 1000 + raw["id"], stored)
        except DataSourceError as exc:
            raise DataSourceError(f"variants[{i}].{exc.where}", exc.message) from None
        config = _replace(config, variant_id=raw["id"])
        challengers.append(Variant(raw["id"], raw.get("name") or variants_mod.default_name(raw["id"]),
                                   raw["share"], config))
    shares = [v.share for v in challengers]
    return _replace(base, variants=tuple(challengers), raw_variants=raw_variants,
                    variant_bounds=variants_mod.bounds(shares), experiment_started_at=experiment_started_at,
                    variant_seq=seq)


def _replace(ds: DataSource, **changes: Any) -> DataSource:
    return replace(ds, **changes)


def _variant_ids(raw_variants: Any, seq: int) -> tuple[list[dict[str, Any]], int]:
    """Check the challengers' ids, names and shares; give each one without an id the next free id."""
    if not isinstance(raw_variants, list):
        raise DataSourceError("variants", "must be an array of variants")
    if len(raw_variants) > variants_mod.MAX_CHALLENGERS:
        raise DataSourceError("variants", f"at most {variants_mod.MAX_CHALLENGERS} variants beside the control "
                                          f"({variants_mod.MAX_VARIANTS} in all)")
    given: set[int] = set()
    for i, raw in enumerate(raw_variants):
        if not isinstance(raw, dict):
            raise DataSourceError(f"variants[{i}]", "must be an object")
        vid = raw.get("id")
        if vid is not None:
            if isinstance(vid, bool) or not isinstance(vid, int) or not 1 <= vid <= variants_mod.MAX_VARIANT_ID:
                raise DataSourceError(f"variants[{i}].id",
                                      f"must be an integer from 1 to {variants_mod.MAX_VARIANT_ID}")
            if vid in given:
                raise DataSourceError(f"variants[{i}].id", f"variant {vid} appears twice")
            given.add(vid)
        name = raw.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 60):
            raise DataSourceError(f"variants[{i}].name", "must be a non-empty string of at most 60 characters")
        share = raw.get("share")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 100:
            raise DataSourceError(f"variants[{i}].share", "must be a percentage of traffic above 0, at most 100")
    total = sum(raw["share"] for raw in raw_variants)
    if total > 100:
        raise DataSourceError("variants", f"the shares add up to {total:g} %: at most 100 (the control gets the rest)")
    seq = max([seq, *given])
    out = []
    for raw in raw_variants:
        raw = dict(raw)
        if raw.get("id") is None:
            seq += 1
            if seq > variants_mod.MAX_VARIANT_ID:
                raise DataSourceError("variants", "no variant ids are left: create a new data source")
            raw["id"] = seq
        if isinstance(raw.get("name"), str):
            raw["name"] = raw["name"].strip()
        out.append(raw)
    return out, seq


def _build_config(ds_id: int, account_id: int, body: dict[str, Any], updated_at: int, stored: bool) -> DataSource:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise DataSourceError("name", "must be a non-empty string of at most 200 characters")
    algorithm = body.get("algorithm")
    algorithms = known_algorithms()
    if not isinstance(algorithm, str):
        raise DataSourceError("algorithm", f"must be one of {', '.join(sorted(algorithms))}")
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
