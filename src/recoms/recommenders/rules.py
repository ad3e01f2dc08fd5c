"""Rules, request filters and the fallback chain, applied on arrays (SPEC §5).

A request becomes a `Plan`: one hard mask (what may be shown), a boost per item (show_more, should
filters) and the diversity caps. The main algorithm's candidates are ranked under the plan; when fewer
than `size` qualify, each fallback step fills the rest under the very same plan, never repeating a
product. Condition masks depend only on the catalog, so they are cached on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recoms.domain.rules import (
    Condition,
    Conditional,
    ContactFieldRule,
    Diversity,
    FieldRule,
    Filter,
    RelativePriceRange,
    Rule,
)
from recoms.recommenders.base import Query, Recommender
from recoms.recommenders.catalog import Catalog
from recoms.recommenders.masks import Check, excluding, from_mask, price_band

NUMERIC_FIELDS = ("price", "isInStock")
SHOULD_TIER = 1e6  # a "should" match outranks any non-match


def condition_mask(catalog: Catalog, c: Condition) -> np.ndarray:
    cache = catalog.__dict__.setdefault("_condition_masks", {})
    if c not in cache:
        cache[c] = _condition_mask(catalog, c)
    return cache[c]


def _condition_mask(catalog: Catalog, c: Condition) -> np.ndarray:
    if c.op in ("lt", "lte", "gt", "gte"):
        values = catalog.numeric(c.field)
        bound = float(c.values[0])
        with np.errstate(invalid="ignore"):
            return {"lt": values < bound, "lte": values <= bound, "gt": values > bound, "gte": values >= bound}[c.op]
    if c.op == "contains":
        column = catalog.column(c.field)
        needles = [str(v).lower() for v in c.values]
        return np.fromiter((any(n in text for n in needles) for text in column), bool, catalog.n)
    matched = _any_of(catalog, c.field, c.values)
    return ~matched if c.op == "ne" else matched


def _any_of(catalog: Catalog, field_name: str, values: Sequence[Any]) -> np.ndarray:
    """Items whose field equals any value (category: at any level of the path; case-insensitive)."""
    if field_name == "category":
        codes = catalog.category_codes(str(v) for v in values)
        if len(codes) == 0:
            return np.zeros(catalog.n, bool)
        return np.asarray(catalog.items.categories[:, codes].sum(axis=1)).ravel() > 0
    if field_name in NUMERIC_FIELDS:
        numbers = []
        for v in values:
            try:
                numbers.append(float(v))
            except (TypeError, ValueError):
                continue
        return np.isin(catalog.numeric(field_name), np.array(numbers, np.float32))
    wanted = {str(v).strip().lower() for v in values}
    return np.fromiter((text in wanted for text in catalog.column(field_name)), bool, catalog.n)


def _cached(catalog: Catalog, key: Any, build) -> np.ndarray:
    cache = catalog.__dict__.setdefault("_rule_masks", {})
    if key not in cache:
        if len(cache) > 4096:
            cache.clear()
        cache[key] = build()
    return cache[key]


def _contact_mask(catalog: Catalog, rule: ContactFieldRule, value: Any) -> np.ndarray:
    """Items whose field holds the contact's value (alone or in a comma-separated list)."""
    wanted = str(value).strip().lower()

    def build() -> np.ndarray:
        column = catalog.column(rule.field)
        return np.fromiter(
            (text == wanted or wanted in (part.strip() for part in text.split(",")) for text in column), bool,
            catalog.n,
        )

    return _cached(catalog, ("contact", rule.field, wanted), build)


def _filter_mask(catalog: Catalog, f: Filter) -> np.ndarray:
    return _cached(catalog, ("filter", f.name, f.values), lambda: _any_of(catalog, f.name, f.values))


@dataclass
class Plan:
    """What may be shown and how it ranks: a cached static part and per-request checks on candidates."""

    base: np.ndarray  # shared and read-only: in stock and the data source's plain show/hide rules
    boost: np.ndarray | None  # shared and read-only: the data source's plain show_more boosts
    checks: list[Check] = field(default_factory=list)
    boosts: list[tuple[Check, float]] = field(default_factory=list)
    diversity: list[Diversity] = field(default_factory=list)

    def add(self, mode: str, mask: np.ndarray, boost: float) -> None:
        """A per-request rule over a mask: show only, do not show, or show more (boost)."""
        if mode == "show_only":
            self.checks.append(from_mask(mask))
        elif mode == "do_not_show":
            self.checks.append(lambda ids: ~mask[ids])
        else:
            self.boosts.append((from_mask(mask), boost))

    def allowed(self, ids: np.ndarray) -> np.ndarray:
        ok = self.base[ids]
        for check in self.checks:
            if ok.any():
                ok &= check(ids)
        return ok

    def factors(self, ids: np.ndarray) -> np.ndarray | None:
        if self.boost is None and not self.boosts:
            return None
        out = self.boost[ids].copy() if self.boost is not None else np.ones(len(ids), np.float32)
        for check, factor in self.boosts:
            out[check(ids)] *= factor
        return out


def mentions_stock(rules: Sequence[Rule]) -> bool:
    for rule in rules:
        if isinstance(rule, FieldRule) and rule.condition.field == "isInStock":
            return True
        if isinstance(rule, Conditional) and mentions_stock(rule.then):
            return True
    return False


def _static_part(catalog: Catalog, rules: Sequence[Rule]) -> tuple[np.ndarray, np.ndarray | None]:
    """The mask and boosts of the rules that do not depend on the request, cached per catalog."""
    plain = tuple(r for r in rules if isinstance(r, FieldRule))

    def build_base() -> np.ndarray:
        # Out-of-stock products only when a rule speaks of stock; unavailable ones never.
        base = (catalog.available if mentions_stock(rules) else catalog.recommendable).copy()
        for rule in plain:
            if rule.type == "show_only":
                base &= condition_mask(catalog, rule.condition)
            elif rule.type == "do_not_show":
                base &= ~condition_mask(catalog, rule.condition)
        return base

    def build_boost() -> np.ndarray | None:
        boost = None
        for rule in plain:
            if rule.type == "show_more":
                boost = np.ones(catalog.n, np.float32) if boost is None else boost
                boost[condition_mask(catalog, rule.condition)] *= rule.boost
        return boost

    base = _cached(catalog, ("base", mentions_stock(rules), plain), build_base)
    has_boost = any(r.type == "show_more" for r in plain)
    boost = _cached(catalog, ("boost", plain), build_boost) if has_boost else None
    return base, boost


def make_plan(
    catalog: Catalog, rules: Sequence[Rule], query: Query, filters: Sequence[Filter] = (),
    contact: dict[str, Any] | None = None, constraint: Check | None = None,
) -> Plan:
    base, boost = _static_part(catalog, rules)
    plan = Plan(base, boost)
    _apply_dynamic(plan, catalog, rules, query, contact or {}, top_level=True)
    for f in filters:
        mode = {"include": "show_only", "exclude": "do_not_show", "should": "show_more"}[f.mode]
        plan.add(mode, _filter_mask(catalog, f), SHOULD_TIER)
    if constraint is not None:
        plan.checks.append(constraint)
    context = query.context[query.context < catalog.n]
    if len(context):
        plan.checks.append(excluding(context))  # never the context products themselves
    return plan


def _apply_dynamic(
    plan: Plan, catalog: Catalog, rules: Sequence[Rule], query: Query, contact: dict[str, Any], top_level: bool
) -> None:
    for rule in rules:
        if isinstance(rule, FieldRule):
            if top_level:
                continue  # in the cached static part
            plan.add(rule.type, condition_mask(catalog, rule.condition), rule.boost)
        elif isinstance(rule, Diversity):
            plan.diversity.append(rule)
        elif isinstance(rule, RelativePriceRange):
            band = price_band(catalog.items, query.context, rule.min_pct, rule.max_pct)
            if band is not None:
                plan.checks.append(band)
        elif isinstance(rule, ContactFieldRule):
            value = contact.get(rule.contact_field)
            if value in (None, ""):
                continue  # nothing known of the contact: the rule cannot apply
            plan.add(rule.mode, _contact_mask(catalog, rule, value), rule.boost)
        elif isinstance(rule, Conditional):
            context = query.context[query.context < catalog.n]
            if len(context) and condition_mask(catalog, rule.condition)[context].any():
                _apply_dynamic(plan, catalog, rule.then, query, contact, top_level=False)


def _diversity_keys(catalog: Catalog, rule: Diversity) -> np.ndarray:
    if rule.field == "category":
        return catalog.items.leaf_category
    if rule.field == "brand":
        return catalog.items.brand
    return catalog.column(rule.field)


def _pick(
    ids: np.ndarray, scores: np.ndarray, plan: Plan, catalog: Catalog, want: int, taken: np.ndarray,
    counts: list[dict[Any, int]],
) -> list[int]:
    ok = ids < catalog.n
    ids, scores = ids[ok], scores[ok]
    ids, scores = ids[~taken[ids]], scores[~taken[ids]]
    keep = plan.allowed(ids)
    ids, scores = ids[keep], scores[keep].astype(np.float32)
    if len(ids) == 0 or want <= 0:
        return []
    factors = plan.factors(ids)
    if factors is not None:
        scores = scores * factors
    if not plan.diversity and len(ids) > want:
        # The best `want` and every item tied with the last of them: the order below decides the ties
        # (by index), not the partition, so the answer is the same however the candidates came.
        top = scores >= np.partition(scores, len(scores) - want)[len(scores) - want]
        ids, scores = ids[top], scores[top]
    order = np.lexsort((ids, -scores))
    picked: list[int] = []
    keys = [_diversity_keys(catalog, rule) for rule in plan.diversity]
    for i in ids[order]:
        if keys:
            values = [k[i] for k in keys]
            caps = [rule.max for rule in plan.diversity]
            if any(counts[j].get(v, 0) >= cap for j, (v, cap) in enumerate(zip(values, caps, strict=True))):
                continue
            for j, v in enumerate(values):
                counts[j][v] = counts[j].get(v, 0) + 1
        picked.append(int(i))
        taken[i] = True
        if len(picked) == want:
            break
    return picked


def _from_list(model: Recommender, plan: Plan, catalog: Catalog, query: Query, size: int,
               taken: np.ndarray) -> list[int] | None:
    """A one-product request answered from the model's precomputed list (`Recommender.item_list`): the
    list is ranked already, so the masks apply to it as vectors and the first `size` allowed are the
    answer, the very answer of `_pick` over the full scoring. None: score in full (no list, boosts or
    diversity to apply, or a list cut short that runs out of allowed items)."""
    if len(query.context) != 1 or size <= 0 or plan.diversity or plan.boost is not None or plan.boosts:
        return None
    found = model.item_list(int(query.context[0]))
    if found is None:
        return None
    ids, _scores, complete = found
    ids = ids[ids < catalog.n]
    picked = ids[plan.allowed(ids)][:size]
    if len(picked) < size and not complete:
        return None
    taken[picked] = True
    return picked.tolist()


def recommend(
    model: Recommender, fallbacks: Sequence[Recommender], catalog: Catalog, query: Query, size: int,
    rules: Sequence[Rule] = (), filters: Sequence[Filter] = (), contact: dict[str, Any] | None = None,
) -> list[int]:
    """The data source's answer: item indices, best first, at most `size`, each qualifying."""
    plan = make_plan(catalog, rules, query, filters, contact, model.constraint(query))
    taken = np.zeros(catalog.n, bool)
    counts: list[dict[Any, int]] = [{} for _ in plan.diversity]
    result = _from_list(model, plan, catalog, query, size, taken)
    if result is None:
        ids, scores = model.recommend([query])[0]
        result = _pick(ids, scores, plan, catalog, size, taken, counts)
    for step in fallbacks:
        if len(result) >= size:
            break
        ids, scores = step.recommend([query])[0]
        result += _pick(ids, scores, plan, catalog, size - len(result), taken, counts)
    return result
