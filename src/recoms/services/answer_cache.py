"""Answers reused while nothing they depend on changes (the hot path's shortcut for popular products).

Most requests ask a data source about one product, and a shop's traffic piles onto its popular products:
the answer to "similar to P" is the same for every visitor until the account's models or catalog change,
unless it depends on the visitor. An answer is kept only when it cannot depend on the visitor: no model
of its chain reads the contact's history, every model declares its answers a function of the request's
context and its fitted state (`Recommender.cacheable`: no time, no chance), and no rule reads the
contact's fields. The key holds everything else the answer depends on: the data source's configuration
(id, version, A/B variant), the context products, the categories and the request's filters. The
entries belong to one state of the account's models and catalog: a new snapshot or a catalog change
replaces that state, and its answers go with it.

A returning customer's answer (personal, recently viewed) depends on their history: it is kept in a cache
of its own, under the live contact and their history's mark (store.history_marks), which every write
of their interactions changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from recoms.domain.datasource import DataSource
from recoms.domain.rules import Conditional, ContactFieldRule, Rule


def depends_on_contact_fields(rules: tuple[Rule, ...]) -> bool:
    return any(
        isinstance(r, ContactFieldRule) or (isinstance(r, Conditional) and depends_on_contact_fields(r.then))
        for r in rules
    )


def cacheable(chain: tuple[Any, ...], ds: DataSource) -> bool:
    """True when the data source's answer depends on nothing of the visitor (see the module's note)."""
    return bool(chain) and all(m.cacheable and not m.uses_history for m in chain) and not (
        depends_on_contact_fields(ds.rules))


def cacheable_without_history(chain: tuple[Any, ...], ds: DataSource) -> bool:
    """True when the data source reads the visitor's history and, for a visitor with none yet (a first
    visit, a new app install: much of a shop's traffic), answers as to anyone: its history models declare
    `Recommender.cacheable_without_history`, the others `cacheable`, and no rule reads the contact's fields."""
    return (bool(chain) and any(m.uses_history for m in chain)
            and all(m.cacheable_without_history if m.uses_history else m.cacheable for m in chain)
            and not depends_on_contact_fields(ds.rules))


def cacheable_with_history(chain: tuple[Any, ...], ds: DataSource) -> bool:
    """True when the data source reads the visitor's history and its answer is a function of that history
    (its history models declare `Recommender.cacheable_with_history`, the others `cacheable`, and no rule
    reads the contact's fields): a returning customer's answer may be reused until their history changes."""
    return (bool(chain) and any(m.uses_history for m in chain)
            and all(m.cacheable_with_history if m.uses_history else m.cacheable for m in chain)
            and not depends_on_contact_fields(ds.rules))


class AnswerCache:
    """Per account, the newest answers of one state of its models (least recently used go first)."""

    def __init__(self, entries_per_account: int) -> None:
        self.entries = entries_per_account
        self._by_account: dict[int, tuple[object, OrderedDict]] = {}
        self._lock = threading.Lock()  # the server's threadpool and its event loop both serve

    def get(self, account_id: int, state: object, key: Hashable) -> Any:
        held = self._by_account.get(account_id)
        if held is None or held[0] is not state:
            return None
        answers = held[1]
        found = answers.get(key)
        if found is not None:
            with self._lock:
                if key in answers:
                    answers.move_to_end(key)
        return found

    def put(self, account_id: int, state: object, key: Hashable, answer: Any) -> None:
        if self.entries <= 0:
            return
        with self._lock:
            held = self._by_account.get(account_id)
            if held is None or held[0] is not state:  # a new state: the old answers are stale
                held = self._by_account[account_id] = (state, OrderedDict())
            answers = held[1]
            answers[key] = answer
            if len(answers) > self.entries:
                answers.popitem(last=False)
