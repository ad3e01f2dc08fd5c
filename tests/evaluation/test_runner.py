"""Tuning on validation, refitting on train + validation, scoring the test fold once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pytest

from recoms.evaluation import algorithms
from recoms.evaluation.data import Dataset
from recoms.evaluation.runner import evaluate
from recoms.recommenders.base import Interactions, Items, Query
from recoms.recommenders.baselines import Popularity
from tests.evaluation.builders import interactions

FITS: list[dict[str, Any]] = []


class Counting(Popularity):
    """Popularity, or its reverse; `flip` is a serving param, `learned` is not."""

    name = "counting"
    default_params: ClassVar[dict[str, Any]] = {"learned": 0, "flip": False}
    serving_params: ClassVar[frozenset[str]] = frozenset({"flip"})
    tuning_grid: ClassVar[list[dict[str, Any]]] = [
        {"learned": learned, "flip": flip} for learned in (1, 2) for flip in (True, False)
    ]

    def fit(self, interactions: Interactions, items: Items) -> Counting:
        FITS.append(dict(self.params))
        return super().fit(interactions, items)

    def score_batch(self, queries: Sequence[Query]) -> np.ndarray:
        scores = super().score_batch(queries)
        return -scores if self.params["flip"] else scores


@pytest.fixture
def dataset(monkeypatch) -> Dataset:
    monkeypatch.setitem(algorithms.BASELINES, "counting", Counting)
    FITS.clear()
    rows = [(u, (u + j) % 6, j) for u in range(10) for j in range(4)] + [(u, 0, 9) for u in range(10, 14)]
    data = interactions(rows)
    return Dataset(data, Items.bare(data.n_items), np.arange(data.n_users).astype(str),
                   np.arange(data.n_items).astype(str))


def test_tuning_fits_once_per_learned_combination_and_picks_the_best_on_validation(dataset):
    result = evaluate(dataset, "leave_last_out", 2, ["counting"], tune=True).results[0]
    assert [fit["learned"] for fit in FITS[:-1]] == [1, 2]  # serving params reuse a fit
    assert len(result.trials) == 4
    assert result.params["flip"] is False  # popularity beats its reverse
    assert FITS[-1] == result.params  # refitted once with the chosen point


def test_fixed_params_are_not_tuned(dataset):
    result = evaluate(dataset, "leave_last_out", 2, ["counting"], {"counting": {"flip": True}}, tune=True)
    assert all(trial.params["flip"] is True for trial in result.results[0].trials)
    assert result.results[0].params["flip"] is True


def test_without_tune_only_the_defaults_are_fitted(dataset):
    result = evaluate(dataset, "leave_last_out", 2, ["counting"]).results[0]
    assert result.trials == [] and len(FITS) == 1
    assert set(result.metrics) == {"hr", "recall", "ndcg", "coverage"}


def test_bad_names_and_params_fail_before_any_work(dataset):
    with pytest.raises(algorithms.UnknownAlgorithm):
        evaluate(dataset, "leave_last_out", 2, ["counting", "nope"])
    with pytest.raises(ValueError, match="unknown parameter"):
        evaluate(dataset, "leave_last_out", 2, ["counting"], {"counting": {"nope": 1}})
    assert FITS == []
