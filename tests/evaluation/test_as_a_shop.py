"""`recoms offline recommend` and `recoms evaluate` fit personal as a shop's training does; --no-tune: raw."""

from __future__ import annotations

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from recoms.evaluation.cli import evaluate_command, offline_app
from tests.training.shops import rebuyers

app = typer.Typer()
app.add_typer(offline_app, name="offline")
app.command("evaluate")(evaluate_command)
runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    result.said = " ".join(result.output.split())  # the terminal wraps long lines
    return result


@pytest.fixture
def rebuy_file(tmp_path):
    """The hand-made shop whose customers buy their three staples in every order, as a file."""
    inter, _ = rebuyers()
    path = tmp_path / "orders.csv"
    pd.DataFrame({"user_id": [f"u{u}" for u in inter.user], "item_id": [f"i{i}" for i in inter.item],
                  "timestamp": inter.ts // 1000, "basket_id": inter.basket}).to_csv(path, index=False)
    users = tmp_path / "users.txt"
    users.write_text("u0\n")
    staples = {f"i{i}" for i in inter.item[(inter.user == 0) & (inter.basket == 0)][:3]}
    return path, users, staples


def top(out) -> list[str]:
    return pd.read_csv(out, dtype=str)["item_id"].tolist()


def test_offline_recommend_tunes_personal_on_the_files_newest_orders(rebuy_file, tmp_path):
    path, users, staples = rebuy_file
    out = tmp_path / "tuned.csv"
    result = invoke("offline", "recommend", "--interactions", path, "--algorithm", "personal", "--users", users,
                    "--include-seen", "--k", 3, "--out", out)
    assert result.exit_code == 0, result.output
    assert "personal: tuned" in result.said or "personal: defaults" in result.said
    assert "each contact's last order (60 contacts)" in result.said and "buy again NDCG@10" in result.said
    assert set(top(out)) == staples  # a re-buy shop gets its usual items back first


def test_no_tune_is_the_raw_defaults(rebuy_file, tmp_path):
    path, users, staples = rebuy_file
    out = tmp_path / "raw.csv"
    result = invoke("offline", "recommend", "--interactions", path, "--algorithm", "personal", "--users", users,
                    "--include-seen", "--k", 3, "--out", out, "--no-tune")
    assert result.exit_code == 0, result.output
    assert "personal: not tuned (tuning is off" in result.said
    assert set(top(out)) != staples  # the class defaults are all discovery


def test_explicit_params_win_over_tuning(rebuy_file, tmp_path):
    path, users, _ = rebuy_file
    out = tmp_path / "explicit.csv"
    result = invoke("offline", "recommend", "--interactions", path, "--algorithm", "personal", "--users", users,
                    "--params", '{"repeat_weight": 0.0}', "--include-seen", "--out", out)
    assert result.exit_code == 0, result.output
    assert "(given: exclude_purchased=False, repeat_weight=0.0)" in result.said


def test_evaluate_scores_personal_as_a_shop_gets_it(rebuy_file, tmp_path):
    path, _, _ = rebuy_file
    result = invoke("evaluate", "--interactions", path, "--protocol", "last_basket_repeat",
                    "--algorithms", "personal,user_frequency")
    assert result.exit_code == 0, result.output
    assert "personal" in result.said and "user_frequency" in result.said
