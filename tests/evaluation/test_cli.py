"""`recoms offline recommend` and `recoms evaluate` end to end on tiny files."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from recoms.evaluation.cli import evaluate_command, offline_app

app = typer.Typer()
app.add_typer(offline_app, name="offline")
app.command("evaluate")(evaluate_command)
runner = CliRunner()

# Three shoppers; a and b go together, c and d go together, e is bought by everyone.
ROWS = [
    ("u1", "a"), ("u1", "b"), ("u1", "e"),
    ("u2", "a"), ("u2", "b"), ("u2", "e"),
    ("u3", "c"), ("u3", "d"), ("u3", "e"),
    ("u4", "a"), ("u4", "e"),
]


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "interactions.csv"
    pd.DataFrame(ROWS, columns=["user_id", "item_id"]).to_csv(path, index=False)
    return path


@pytest.fixture
def users_file(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text("u4\nu3\nnewcomer\n")
    return path


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_offline_recommend_writes_k_ranked_rows_per_user(csv_file, users_file, tmp_path):
    out = tmp_path / "out.csv"
    result = invoke("offline", "recommend", "--interactions", csv_file, "--algorithm", "itemknn",
                    "--users", users_file, "--k", 2, "--out", out)
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "user_id,item_id,rank"
    frame = pd.read_csv(out, dtype=str)
    assert frame["user_id"].tolist() == ["u4", "u4", "u3", "u3", "newcomer", "newcomer"]
    assert frame["rank"].tolist() == ["1", "2"] * 3
    u4 = frame[frame.user_id == "u4"].item_id.tolist()
    assert u4[0] == "b" and not {"a", "e"} & set(u4)  # seen items excluded
    assert frame[frame.user_id == "newcomer"].item_id.tolist()[0] == "e"  # unknown user: most popular


def test_offline_recommend_include_seen(csv_file, users_file, tmp_path):
    out = tmp_path / "out.csv"
    result = invoke("offline", "recommend", "--interactions", csv_file, "--algorithm", "popularity",
                    "--users", users_file, "--k", 3, "--out", out, "--include-seen")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype=str)
    assert frame[frame.user_id == "u4"].item_id.tolist()[:2] == ["e", "a"]


def test_offline_recommend_from_parquet_with_context(tmp_path):
    interactions = tmp_path / "interactions.parquet"
    pd.DataFrame(ROWS, columns=["user_id", "item_id"]).to_parquet(interactions)
    context = tmp_path / "carts.csv"
    context.write_text("query_id,item_id\ncart-1,c\ncart-2,a\ncart-1,zzz\n")
    out = tmp_path / "out.csv"
    result = invoke("offline", "recommend", "--interactions", interactions, "--algorithm", "cooccurrence",
                    "--context", context, "--k", 2, "--out", out)
    assert result.exit_code == 0, result.output
    # cart-1 (c): d and e co-occur once each, the tie goes to e (earlier index); cart-2 (a): e 3, b 2
    assert out.read_text().splitlines() == [
        "query_id,item_id,rank", "cart-1,e,1", "cart-1,d,2", "cart-2,e,1", "cart-2,b,2",
    ]
    assert "1 unknown context items" in " ".join(result.output.split())


@pytest.mark.parametrize("algorithm", ["popularity", "user_frequency", "itemknn", "als", "bpr", "ease"])
def test_offline_recommend_every_baseline(csv_file, users_file, tmp_path, algorithm):
    out = tmp_path / "out.csv"
    params = '{"factors": 2, "iterations": 2}' if algorithm in ("als", "bpr") else "{}"
    result = invoke("offline", "recommend", "--interactions", csv_file, "--algorithm", algorithm,
                    "--params", params, "--users", users_file, "--k", 2, "--out", out)
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 6


@pytest.mark.parametrize(("args", "message"), [
    (["--algorithm", "nope"], "unknown algorithm 'nope'"),
    (["--algorithm", "als", "--params", "{factors: 3"], "not valid JSON"),
    (["--algorithm", "als", "--params", "[1]"], "must be a JSON object"),
    (["--algorithm", "als", "--params", '{"factor": 3}'], "unknown parameter"),
])
def test_offline_recommend_bad_options_exit_2(csv_file, users_file, tmp_path, args, message):
    result = invoke("offline", "recommend", "--interactions", csv_file, "--users", users_file,
                    "--out", tmp_path / "out.csv", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_offline_recommend_missing_column_exits_2(tmp_path, users_file):
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,item_id\nu1,a\n")
    result = invoke("offline", "recommend", "--interactions", bad, "--algorithm", "popularity",
                    "--users", users_file, "--out", tmp_path / "out.csv")
    assert result.exit_code == 2
    assert "missing column(s) user_id" in " ".join(result.output.split())


def test_offline_recommend_needs_users_or_context(csv_file, tmp_path):
    result = invoke("offline", "recommend", "--interactions", csv_file, "--algorithm", "popularity",
                    "--out", tmp_path / "out.csv")
    assert result.exit_code == 2


def test_evaluate_prints_a_table_and_writes_json(tmp_path):
    rows = [(f"u{u}", f"i{(u + j) % 7}", j) for u in range(12) for j in range(5)]
    path = tmp_path / "interactions.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]).to_csv(path, index=False)
    out = tmp_path / "result.json"
    result = invoke("evaluate", "--interactions", path, "--protocol", "leave_last_out", "--k", 3,
                    "--algorithms", "popularity,itemknn", "--params", '{"itemknn": {"neighbours": 3}}',
                    "--tune", "--json", out)
    assert result.exit_code == 0, result.output
    assert "NDCG@3" in result.output and "itemknn" in result.output
    report = json.loads(out.read_text())
    assert report["protocol"] == "leave_last_out" and report["stats"]["test_queries"] == 12
    assert [r["name"] for r in report["results"]] == ["popularity", "itemknn"]
    assert report["results"][1]["params"] == {"neighbours": 3}
    assert set(report["results"][0]["metrics"]) == {"hr", "recall", "ndcg", "coverage"}


@pytest.mark.parametrize(("args", "message"), [
    (["--protocol", "holdout"], "expected one of"),
    (["--protocol", "leave_last_out", "--algorithms", "popularity,nope"], "unknown algorithm 'nope'"),
    (["--protocol", "leave_last_out", "--algorithms", "als", "--params", '{"ease": {}}'], "not evaluated"),
])
def test_evaluate_bad_options_exit_2(csv_file, args, message):
    result = invoke("evaluate", "--interactions", csv_file, *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
