"""The quality suite's bookkeeping: refreshed rows merge into saved results; tables mark pending rows."""

from __future__ import annotations

import json

from recoms.evaluation import suite
from recoms.evaluation.report import to_json, write_json
from recoms.evaluation.runner import AlgorithmResult, Evaluation


def result(name: str, ndcg: float, seconds: float) -> AlgorithmResult:
    metrics = {"hr": ndcg, "recall": ndcg, "ndcg": ndcg, "coverage": 0.5}
    return AlgorithmResult(name, {}, metrics, 10, 0.0, 0.0, seconds)


def evaluation(protocol: str, *results: AlgorithmResult) -> Evaluation:
    stats = {"users": 1, "items": 1, "interactions": 1, "test_queries": 1}
    return Evaluation("ml-100k", protocol, 10, 0, True, stats, list(results), sum(r.seconds for r in results))


def test_merge_replaces_rows_of_the_same_algorithm_and_appends_new_ones():
    saved = evaluation("leave_last_out", result("popularity", 0.1, 1.0), result("personal", 0.2, 5.0))
    fresh = evaluation("leave_last_out", result("personal", 0.3, 2.0), result("other", 0.4, 1.0))
    merged = suite._merge(saved, fresh)
    assert [(r.name, r.metrics["ndcg"]) for r in merged.results] == [
        ("popularity", 0.1), ("personal", 0.3), ("other", 0.4),
    ]
    assert merged.seconds == 4.0


def test_tables_mark_missing_platform_algorithms_pending(tmp_path):
    write_json(evaluation("leave_last_out", result("popularity", 0.1, 1.0)),
               tmp_path / "results" / "ml-100k.leave_last_out.json")
    text = suite.write_tables(tmp_path)
    assert "| popularity | 0.1000 |" in text and "| personal — pending |" in text
    assert (tmp_path / "results" / "ml-100k.leave_last_out.md").read_text() in text
    saved = json.loads((tmp_path / "results" / "ml-100k.leave_last_out.json").read_text())
    assert saved == json.loads(json.dumps(to_json(evaluation("leave_last_out", result("popularity", 0.1, 1.0)))))
