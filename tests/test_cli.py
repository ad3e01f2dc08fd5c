"""The `recoms` command, end to end on a fresh SQLite store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from recoms.cli import app
from recoms.settings import get_settings
from tests.conftest import envelope
from tests.feeds import gmc_xml


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("RECOMS_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield invoke
    get_settings.cache_clear()


def test_account_create_prints_id_admin_key_and_site(run):
    out = json.loads(run("account", "create", "Shop", "--plan", "extra").stdout)
    assert out["account_id"] == 1 and out["api_key"].startswith("rk_") and out["site_id"].startswith("site_")
    assert out["plan"] == "extra"
    bad = run("account", "create", "X", "--plan", "gold", ok=False)
    assert bad.exit_code == 2 and "plan must be one of" in bad.output


def test_apikey_create_with_scopes(run):
    run("account", "create", "Shop")
    out = json.loads(run("apikey", "create", "--account", "1", "--scopes", "contacts:token,recoms:read").stdout)
    assert out["scopes"] == ["contacts:token", "recoms:read"] and out["api_key"].startswith("rk_")
    bad = run("apikey", "create", "--account", "1", "--scopes", "root", ok=False)
    assert bad.exit_code == 2 and "unknown scope" in bad.output


def test_feed_events_train_and_datasource_commands(run, tmp_path):
    run("account", "create", "Shop")
    feed = tmp_path / "feed.xml"
    feed.write_text(gmc_xml([{"id": "A", "price": 5}, {"id": "B", "price": 6}, {"id": "C", "price": 7}]))
    report = json.loads(run("feed", "import", str(feed)).stdout)
    assert report["itemsOk"] == 3 and report["format"] == "gmc_xml"
    events = tmp_path / "events.jsonl"
    lines = [envelope("PurchasedItems", {"OrderNumber": f"O{i}", "Products": [{"product_id": "A"},
                                                                             {"product_id": "B"}]}, sc=f"v{i}")
             for i in range(3)]
    events.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    imported = json.loads(run("events", "import", str(events)).stdout)
    assert imported["accepted"] == 3 and imported["errors"][0]["line"] == 4
    trained = json.loads(run("train").stdout)
    assert trained[0]["interactions"] == 6 and trained[0]["items"] == 3
    ds = json.loads(run("datasource", "create", "Bought together", "--algorithm", "also_bought").stdout)
    assert ds["algorithm"] == "also_bought" and ds["size"] == 10
    listed = json.loads(run("datasource", "list").stdout)
    assert [d["id"] for d in listed] == [ds["id"]]
    bad = run("datasource", "create", "X", "--algorithm", "magic", ok=False)
    assert bad.exit_code == 2 and "algorithm" in bad.output


def test_feed_import_of_a_missing_file_fails_clearly(run):
    run("account", "create", "Shop")
    bad = run("feed", "import", "/nonexistent/feed.xml", ok=False)
    assert bad.exit_code == 2 and "no feed file" in bad.output


def test_the_asgi_module_builds_the_application(run):
    import importlib

    from fastapi.testclient import TestClient

    import recoms.api.asgi as asgi

    app = importlib.reload(asgi).app
    assert TestClient(app).get("/healthz").json() == {"status": "ok"}


def test_apikey_revoke(run):
    run("account", "create", "Shop")
    key = json.loads(run("apikey", "create", "--account", "1", "--scopes", "recoms:read").stdout)
    assert json.loads(run("apikey", "revoke", "--account", "1", "--id", str(key["id"])).stdout) == {
        "revoked": key["id"]}
    again = run("apikey", "revoke", "--account", "1", "--id", str(key["id"]), ok=False)
    assert again.exit_code == 2 and "no active key" in again.output
