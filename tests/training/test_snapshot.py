import time

from recoms.training import snapshot


def test_versions_take_seconds_and_nanoseconds_from_one_clock_reading(monkeypatch):
    # 2026-11-27 13:57:10.002 UTC, while a coarse clock may still read 13:57:09.
    monkeypatch.setattr(time, "time_ns", lambda: 1_795_787_830_002_000_000)
    monkeypatch.setattr(time, "time", lambda: 1_795_787_829.999)
    assert snapshot.new_version() == "20261127T135710-002000000"


def test_the_newest_snapshot_is_the_last_written(tmp_path):
    for n in range(5):
        snapshot.write(tmp_path, 7, ["A"], {}, {"n": n})
    newest = snapshot.newest_version(tmp_path, 7)
    assert snapshot.read(tmp_path, 7, newest).meta["n"] == 4
    assert len(list((tmp_path / "account-7").glob("*.json"))) == snapshot.KEEP
