"""Per-item answer lists: each product's candidates for a one-product request, best first, precomputed.

A request for one product (the common case of similar, also_bought and cross_sell) then costs a slice
of contiguous arrays: no merge of neighbour lists, no `np.unique`, no sort. The lists are computed at
training, vectorised over every item, with the very operations the full scoring applies to a
one-product query, so they hold the same candidates with the same scores, ranked as the rules rank
(score descending, then index). Each keeps its best `LIST_SIZE`; `complete` says whether that is every
candidate (a list cut short still answers a request whose first `size` allowed items it holds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from recoms.recommenders.base import by_row_then_score

LIST_SIZE = 200

Rows = tuple[np.ndarray, np.ndarray, np.ndarray]  # CSR rows: (indptr int64, ids int32, scores float32)


@dataclass
class ItemLists:
    indptr: np.ndarray  # int64, n_items + 1
    ids: np.ndarray  # int32, each row best first
    scores: np.ndarray  # float32
    complete: np.ndarray  # bool per item: the row holds every candidate of the full scoring
    params: dict[str, Any]  # the serving params the scores were computed under

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def ranked(cls, rows: Rows, params: dict[str, Any], size: int | None = None) -> ItemLists:
        """Each row sorted by score descending, then index, and cut to `size` (LIST_SIZE)."""
        size = LIST_SIZE if size is None else size
        indptr, ids, scores = rows
        n = len(indptr) - 1
        lengths = np.diff(indptr)
        row = np.repeat(np.arange(n), lengths)
        in_order = len(ids) < 2 or bool(np.all((row[1:] > row[:-1]) | (ids[1:] > ids[:-1])))
        # Rows whose ids are in order (as `add` makes them) keep it among equal scores; others are put in
        # id order first.
        if in_order:
            order = by_row_then_score(row, scores)
        else:
            by_id = np.argsort(ids, kind="stable")
            order = by_id[by_row_then_score(row[by_id], scores[by_id])]
        if len(lengths) and lengths.max() > size:  # rows longer than the cut: their first `size` only
            order = order[np.arange(len(order)) - np.repeat(indptr[:-1], lengths) < size]
        kept = np.minimum(lengths, size)
        return cls(np.r_[0, np.cumsum(kept)].astype(np.int64), ids[order].astype(np.int32, copy=False),
                   scores[order].astype(np.float32, copy=False), lengths <= size, dict(params))

    def row(self, item: int) -> tuple[np.ndarray, np.ndarray, bool] | None:
        if not 0 <= item < self.n:
            return None
        s, e = self.indptr[item], self.indptr[item + 1]
        return self.ids[s:e], self.scores[s:e], bool(self.complete[item])

    def matches(self, params: dict[str, Any]) -> bool:
        """Were the lists computed under these values of the params that change scores?"""
        return all(params.get(k) == v for k, v in self.params.items())

    def state(self, prefix: str = "lists") -> dict[str, np.ndarray]:
        return {f"{prefix}_indptr": self.indptr, f"{prefix}_ids": self.ids, f"{prefix}_scores": self.scores,
                f"{prefix}_complete": self.complete,
                f"{prefix}_params": np.array(json.dumps(self.params, sort_keys=True))}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], prefix: str = "lists") -> ItemLists | None:
        """None for a snapshot written before lists existed: requests score in full."""
        if f"{prefix}_indptr" not in arrays:
            return None
        return cls(arrays[f"{prefix}_indptr"], arrays[f"{prefix}_ids"], arrays[f"{prefix}_scores"],
                   arrays[f"{prefix}_complete"], json.loads(str(arrays[f"{prefix}_params"])))


def row_numbers(indptr: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


def add(a: Rows, b: Rows) -> Rows:
    """Row by row, the union of two lists with the scores of shared ids added (`sum_by_item` on every
    row at once: a in front, as the full scoring concatenates; zero scores stay candidates)."""
    n = len(a[0]) - 1
    if len(a[1]) + len(b[1]) == 0:
        return np.zeros(n + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
    width = np.int64(max(int(a[1].max(initial=0)), int(b[1].max(initial=0))) + 1)
    keys = np.concatenate([row_numbers(a[0]) * width + a[1], row_numbers(b[0]) * width + b[1]])
    scores = np.concatenate([a[2], b[2]]).astype(np.float32)
    # Stable: an id's score from a comes before its score from b (and two sorted runs merge in one pass).
    order = np.argsort(keys, kind="stable")
    keys, scores = keys[order], scores[order]
    first = np.r_[True, keys[1:] != keys[:-1]]
    starts = np.flatnonzero(first)
    summed = np.add.reduceat(scores, starts) if len(starts) else scores  # a + b, as sum_by_item adds
    keys = keys[starts]
    rows = keys // width
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))].astype(np.int64)
    return indptr, (keys - rows * width).astype(np.int32), summed


def scale_rows_by_peak(rows: Rows) -> Rows:
    """Each row divided by its largest score (rows whose peak is not positive stay as they are)."""
    indptr, ids, scores = rows
    lengths = np.diff(indptr)
    peak = np.ones(len(lengths), np.float32)
    full = lengths > 0
    if full.any():
        peak[full] = np.maximum.reduceat(scores, indptr[:-1][full])
    per = np.repeat(peak, lengths)
    return indptr, ids, np.where(per > 0, scores / np.where(per > 0, per, 1), scores).astype(np.float32)


def complete_answer(model: Any, query: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """A one-product query's candidates from the model's list, when that list holds them all."""
    if len(query.context) != 1:
        return None
    found = model.item_list(int(query.context[0]))
    if found is None or not found[2]:
        return None
    return found[0], found[1]
