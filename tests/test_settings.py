"""Settings are data: each one is read from its RECOMS_* variable and documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from recoms.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented_in_the_readme(name):
    assert f"`RECOMS_{name.upper()}`" in README


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RECOMS_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("RECOMS_TOKEN_TTL_SECONDS", "120")
    monkeypatch.setenv("RECOMS_MAX_BATCH_EVENTS", "7")
    s = Settings()
    assert s.database_url.endswith("/x.db") and s.token_ttl_seconds == 120 and s.max_batch_events == 7
    assert s.artifacts_path == tmp_path / "artifacts"


def test_artifacts_dir_overrides_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("RECOMS_ARTIFACTS_DIR", str(tmp_path / "snaps"))
    assert Settings().artifacts_path == tmp_path / "snaps"


def test_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("RECOMS_TOKEN_TTL_SECONDS", "0")
    with pytest.raises(ValueError, match="token_ttl_seconds"):
        Settings()


def test_prod_refuses_sqlite_on_a_public_host(monkeypatch):
    monkeypatch.setenv("RECOMS_ENV", "prod")
    monkeypatch.setenv("RECOMS_HOST", "0.0.0.0")
    with pytest.raises(ValueError, match="PostgreSQL"):
        Settings()
