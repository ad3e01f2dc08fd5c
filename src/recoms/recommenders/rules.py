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
from recoms.recommenders.base import Query, Recommender, top_k
from recoms.recommenders.catalog import Catalog
from recoms.recommenders.masks import Check, excluding, from_mask, member, price_band

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


@dataclass(frozen=True)
class Static:
    """What a data source's rules say whatever the request: built once per catalog (cached on it)."""

    base: np.ndarray  # in stock and the plain show/hide rules
    boost: np.ndarray | None  # the plain show_more boosts
    diversity: tuple[Diversity, ...]
    dynamic: tuple[Rule, ...]  # relative price ranges, contact rules, conditionals: read the request


def static_part(catalog: Catalog, rules: Sequence[Rule]) -> Static:
    cache = catalog.__dict__.setdefault("_static_parts", {})
    key = tuple(rules)
    found = cache.get(key)
    if found is None:
        if len(cache) > 1024:
            cache.clear()
        found = cache[key] = _static(catalog, key)
    return found


def _static(catalog: Catalog, rules: tuple[Rule, ...]) -> Static:
    plain = tuple(r for r in rules if isinstance(r, FieldRule))
    # Out-of-stock products only when a rule speaks of stock; unavailable ones never.
    base = (catalog.available if mentions_stock(rules) else catalog.recommendable).copy()
    boost = None
    for rule in plain:
        if rule.type == "show_only":
            base &= condition_mask(catalog, rule.condition)
        elif rule.type == "do_not_show":
            base &= ~condition_mask(catalog, rule.condition)
        else:
            boost = np.ones(catalog.n, np.float32) if boost is None else boost
            boost[condition_mask(catalog, rule.condition)] *= rule.boost
    base.flags.writeable = False  # shared by every request
    if boost is not None:
        boost.flags.writeable = False
    return Static(base, boost, tuple(r for r in rules if isinstance(r, Diversity)),
                  tuple(r for r in rules if not isinstance(r, (FieldRule, Diversity))))


def make_plan(
    catalog: Catalog, rules: Sequence[Rule], query: Query, filters: Sequence[Filter] = (),
    contact: dict[str, Any] | None = None, constraint: Check | None = None,
) -> Plan:
    static = static_part(catalog, rules)
    plan = Plan(static.base, static.boost, diversity=list(static.diversity))
    if static.dynamic:
        _apply_dynamic(plan, catalog, static.dynamic, query, contact or {})
    for f in filters:
        mode = {"include": "show_only", "exclude": "do_not_show", "should": "show_more"}[f.mode]
        plan.add(mode, _filter_mask(catalog, f), SHOULD_TIER)
    if constraint is not None:
        plan.checks.append(constraint)
    context = _known(catalog, query.context)
    if len(context):
        plan.checks.append(excluding(context))  # never the context products themselves
    return plan


def _known(catalog: Catalog, context: np.ndarray) -> np.ndarray:
    if len(context) == 1:
        return context if context[0] < catalog.n else context[:0]
    return context[context < catalog.n]


def _apply_dynamic(plan: Plan, catalog: Catalog, rules: Sequence[Rule], query: Query, contact: dict[str, Any]) -> None:
    """The rules that read the request (at the top level, the static part has the others)."""
    for rule in rules:
        if isinstance(rule, FieldRule):
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
            context = _known(catalog, query.context)
            if len(context) and condition_mask(catalog, rule.condition)[context].any():
                _apply_dynamic(plan, catalog, rule.then, query, contact)


def _diversity_keys(catalog: Catalog, rule: Diversity) -> np.ndarray:
    if rule.field == "category":
        return catalog.items.leaf_category
    if rule.field == "brand":
        return catalog.items.brand
    return catalog.column(rule.field)


def _pick(
    ids: np.ndarray, scores: np.ndarray, plan: Plan, catalog: Catalog, want: int, taken: list[int],
    counts: list[dict[Any, int]],
) -> list[int]:
    """The best `want` candidates the plan allows, not `taken` yet (ranked by score, then index)."""
    if want <= 0 or len(ids) == 0:
        return []
    if ids.max() >= catalog.n:
        ok = ids < catalog.n
        ids, scores = ids[ok], scores[ok]
    keep = plan.allowed(ids)
    if taken:
        keep &= ~member(ids, np.array(taken, np.int32))
    ids, scores = ids[keep], scores[keep].astype(np.float32, copy=False)
    if len(ids) == 0:
        return []
    factors = plan.factors(ids)
    if factors is not None:
        scores = scores * factors
    if not plan.diversity:
        picked = top_k(ids, scores, want)[0].tolist()
        taken += picked
        return picked
    # The caps rarely skip many: rank the best few first, everything only when they do not suffice.
    head = top_k(ids, scores, 4 * want)[0]
    picked = _diverse(head, plan, catalog, want, taken, counts)
    if len(picked) < want and len(ids) > len(head):
        rest = ids[np.lexsort((ids, -scores))][len(head):]
        picked += _diverse(rest, plan, catalog, want - len(picked), taken, counts)
    return picked


def _diverse(ranked: np.ndarray, plan: Plan, catalog: Catalog, want: int, taken: list[int],
             counts: list[dict[Any, int]]) -> list[int]:
    """The first `want` of the ranked candidates under the diversity caps (counted across fallback steps)."""
    keys = [_diversity_keys(catalog, rule) for rule in plan.diversity]
    caps = [rule.max for rule in plan.diversity]
    picked: list[int] = []
    for start in range(0, len(ranked), 4 * want):  # a chunk at a time
        chunk = ranked[start:start + 4 * want]
        # Each candidate's values, one tuple per candidate (one per rule), as plain Python objects.
        for i, row in zip(chunk.tolist(), zip(*(k[chunk].tolist() for k in keys), strict=True), strict=True):
            if any(count.get(v, 0) >= cap for count, v, cap in zip(counts, row, caps, strict=True)):
                continue
            for count, v in zip(counts, row, strict=True):
                count[v] = count.get(v, 0) + 1
            picked.append(i)
            if len(picked) == want:
                break
        if len(picked) == want:
            break
    taken += picked
    return picked


def _from_list(model: Recommender, plan: Plan, catalog: Catalog, query: Query, size: int,
               taken: list[int]) -> list[int] | None:
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
    if len(ids) and ids.max() >= catalog.n:
        ids = ids[ids < catalog.n]
    picked = ids[plan.allowed(ids)][:size]
    if len(picked) < size and not complete:
        return None
    result = picked.tolist()
    taken += result
    return result


def recommend(
    model: Recommender, fallbacks: Sequence[Recommender], catalog: Catalog, query: Query, size: int,
    rules: Sequence[Rule] = (), filters: Sequence[Filter] = (), contact: dict[str, Any] | None = None,
) -> list[int]:
    """The data source's answer: item indices, best first, at most `size`, each qualifying."""
    plan = make_plan(catalog, rules, query, filters, contact, model.constraint(query))
    taken: list[int] = []  # what earlier steps picked: a fallback never repeats it
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
