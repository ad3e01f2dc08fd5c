"""Data-source rules, request filters and fallback steps (SPEC §5): parsed and validated, no I/O.

`parse_rules` turns the JSON of a data source into plain objects, or raises `RuleError` naming the rule
(its index path, e.g. `rules[2].then[0]`) and what is wrong with it. Applying them to arrays is
`recoms.recommenders.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPS = ("eq", "ne", "in", "lt", "lte", "gt", "gte", "contains")
NUMERIC_OPS = ("lt", "lte", "gt", "gte")
FIELD_RULES = ("show_only", "show_more", "do_not_show")
RULE_TYPES = (*FIELD_RULES, "diversity", "relative_price_range", "contact_field", "conditional")
FILTER_MODES = ("include", "exclude", "should")
BUILTIN_FIELDS = ("id", "name", "price", "brand", "category", "isInStock", "url", "descr")
MAX_RULES = 50
MAX_VALUES = 500


class RuleError(ValueError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class FieldRule:
    type: str  # show_only | show_more | do_not_show
    condition: Condition
    boost: float = 2.0


@dataclass(frozen=True)
class Diversity:
    field: str
    max: int


@dataclass(frozen=True)
class RelativePriceRange:
    min_pct: float
    max_pct: float


@dataclass(frozen=True)
class ContactFieldRule:
    contact_field: str
    field: str
    mode: str  # show_only | show_more | do_not_show
    boost: float = 2.0


@dataclass(frozen=True)
class Conditional:
    condition: Condition  # tested on the context products
    then: tuple[Rule, ...]


Rule = FieldRule | Diversity | RelativePriceRange | ContactFieldRule | Conditional


@dataclass(frozen=True)
class Filter:
    """A request filter: include/exclude are strict, should ranks matches first."""

    name: str
    values: tuple[str, ...]
    mode: str


@dataclass(frozen=True)
class FallbackStep:
    algorithm: str
    params: dict[str, Any] = field(default_factory=dict)


DEFAULT_FALLBACK = (
    FallbackStep("bestsellers", {"scope": "context"}),
    FallbackStep("bestsellers", {"scope": "store"}),
)


def check_field(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise RuleError(where, "field must be a non-empty string")
    if name in BUILTIN_FIELDS or (name.startswith("tags_") and len(name) > 5):
        return name
    raise RuleError(where, f"unknown field {name!r}: use one of {', '.join(BUILTIN_FIELDS)} or tags_<name>")


def _number(value: Any, where: str, name: str, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RuleError(where, f"{name} must be a number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise RuleError(where, f"{name} must be between {low} and {high}")
    return float(value)


def parse_condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, dict):
        raise RuleError(where, "must be an object")
    name = check_field(raw.get("field"), where)
    op = raw.get("op", "in")
    if op not in OPS:
        raise RuleError(where, f"op {op!r} is not one of {', '.join(OPS)}")
    values = raw.get("values", [raw["value"]] if "value" in raw else None)
    if not isinstance(values, list) or not values:
        raise RuleError(where, "values must be a non-empty array")
    if len(values) > MAX_VALUES:
        raise RuleError(where, f"values has more than {MAX_VALUES} entries")
    for value in values:
        if isinstance(value, (dict, list)) or value is None:
            raise RuleError(where, "values must be strings or numbers")
    if op in NUMERIC_OPS:
        if len(values) != 1:
            raise RuleError(where, f"op {op} takes exactly one value")
        try:
            values = [float(values[0])]
        except (TypeError, ValueError):
            raise RuleError(where, f"op {op} needs a number, got {values[0]!r}") from None
    return Condition(name, op, tuple(values))


def parse_rule(raw: Any, where: str, depth: int = 0) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError(where, "a rule must be an object")
    kind = raw.get("type")
    if kind not in RULE_TYPES:
        raise RuleError(where, f"type {kind!r} is not one of {', '.join(RULE_TYPES)}")
    if kind in FIELD_RULES:
        boost = _number(raw.get("boost", 2.0), where, "boost", 0.0, 1000.0)
        return FieldRule(kind, parse_condition(raw, where), boost)
    if kind == "diversity":
        max_n = raw.get("max")
        if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
            raise RuleError(where, "max must be a positive integer")
        return Diversity(check_field(raw.get("field"), where), max_n)
    if kind == "relative_price_range":
        low = _number(raw.get("min_pct", 0), where, "min_pct", 0, 100000)
        high = _number(raw.get("max_pct", 100000), where, "max_pct", 0, 100000)
        if low > high:
            raise RuleError(where, "min_pct is above max_pct")
        return RelativePriceRange(low, high)
    if kind == "contact_field":
        contact_field = raw.get("contact_field")
        if not isinstance(contact_field, str) or not contact_field:
            raise RuleError(where, "contact_field must be a non-empty string")
        mode = raw.get("mode", "show_only")
        if mode not in FIELD_RULES:
            raise RuleError(where, f"mode {mode!r} is not one of {', '.join(FIELD_RULES)}")
        boost = _number(raw.get("boost", 2.0), where, "boost", 0.0, 1000.0)
        return ContactFieldRule(contact_field, check_field(raw.get("field"), where), mode, boost)
    if depth > 2:
        raise RuleError(where, "conditional rules nest at most three deep")
    then = raw.get("then")
    if not isinstance(then, list) or not then:
        raise RuleError(where, "then must be a non-empty array of rules")
    condition = parse_condition(raw.get("if"), f"{where}.if")
    return Conditional(condition, tuple(parse_rule(r, f"{where}.then[{i}]", depth + 1) for i, r in enumerate(then)))


def parse_rules(raw: Any) -> tuple[Rule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RuleError("rules", "must be an array")
    if len(raw) > MAX_RULES:
        raise RuleError("rules", f"more than {MAX_RULES} rules")
    return tuple(parse_rule(rule, f"rules[{i}]") for i, rule in enumerate(raw))


def parse_filters(raw: Any, where: str = "filters") -> tuple[Filter, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RuleError(where, "must be an array")
    if len(raw) > MAX_RULES:
        raise RuleError(where, f"more than {MAX_RULES} filters")
    filters = []
    for i, entry in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise RuleError(here, "a filter must be an object")
        name = check_field(entry.get("name"), here)
        values = entry.get("values")
        if isinstance(values, (str, int, float)) and not isinstance(values, bool):
            values = [values]
        if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
            raise RuleError(here, f"values must be a non-empty array of at most {MAX_VALUES}")
        if any(isinstance(v, (dict, list, bool)) or v is None for v in values):
            raise RuleError(here, "values must be strings or numbers")
        mode = entry.get("mode", "include")
        if mode not in FILTER_MODES:
            raise RuleError(here, f"mode {mode!r} is not one of {', '.join(FILTER_MODES)}")
        filters.append(Filter(name, tuple(str(v) for v in values), mode))
    return tuple(filters)


def parse_fallback(raw: Any, known_algorithms: set[str]) -> tuple[FallbackStep, ...]:
    """The fallback chain; None means the default (context-category bestsellers, then store-wide)."""
    if raw is None:
        return DEFAULT_FALLBACK
    if not isinstance(raw, list) or len(raw) > 5:
        raise RuleError("fallback", "must be an array of at most 5 steps")
    steps = []
    for i, entry in enumerate(raw):
        here = f"fallback[{i}]"
        if isinstance(entry, str):
            entry = {"algorithm": entry}
        if not isinstance(entry, dict):
            raise RuleError(here, "a step must be an algorithm name or {algorithm, params}")
        algorithm = entry.get("algorithm")
        if algorithm not in known_algorithms:
            raise RuleError(here, f"algorithm {algorithm!r} is not one of {', '.join(sorted(known_algorithms))}")
        params = entry.get("params", {})
        if not isinstance(params, dict):
            raise RuleError(here, "params must be an object")
        steps.append(FallbackStep(algorithm, params))
    return tuple(steps)


def to_json(rule: Rule) -> dict[str, Any]:
    """The canonical JSON of a parsed rule (what the API returns)."""
    if isinstance(rule, FieldRule):
        body: dict[str, Any] = {"type": rule.type, **_condition_json(rule.condition)}
        if rule.type == "show_more":
            body["boost"] = rule.boost
        return body
    if isinstance(rule, Diversity):
        return {"type": "diversity", "field": rule.field, "max": rule.max}
    if isinstance(rule, RelativePriceRange):
        return {"type": "relative_price_range", "min_pct": rule.min_pct, "max_pct": rule.max_pct}
    if isinstance(rule, ContactFieldRule):
        return {"type": "contact_field", "contact_field": rule.contact_field, "field": rule.field,
                "mode": rule.mode, "boost": rule.boost}
    return {"type": "conditional", "if": _condition_json(rule.condition), "then": [to_json(r) for r in rule.then]}


def _condition_json(c: Condition) -> dict[str, Any]:
    return {"field": c.field, "op": c.op, "values": list(c.values)}
