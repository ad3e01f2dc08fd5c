"""`recoms events import` in chunks over one connection: what lands in the store, the errors by line, a
re-import reported as duplicates, and the collector left as it was found."""

from __future__ import annotations

import gc
from unittest import mock

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from recoms.errors import RecomsError
from recoms.services import event_import, tracking
from recoms.services.accounts import create_account
from recoms.services.attribution import may_name_a_list
from recoms.store.tables import contact_identifiers, events, interactions
from tests.conftest import envelope
from tests.fuzz.strategies import FUZZ
from tests.fuzz.test_event_parsers import MOBILE, WEB

T0 = 1_760_000_000_000


def lines() -> list[bytes]:
    out = []
    for i in range(10):
        event = envelope("ProductPage", {"productKey": f"P{i % 3}"}, sc=f"v{i % 4}", ts=T0 + i, eventId=f"e{i}")
        out.append(orjson.dumps(event))
    out.insert(3, b"{not json")
    out.insert(6, orjson.dumps(envelope("ProductPage", {}, sc="v9", ts=T0)))  # no productKey
    out.insert(8, b"   ")
    login = envelope("CustomerData", {}, sc="v1", ts=T0 + 20, externalCustomerId="cust-1")
    del login["CustomerData"]
    out.append(orjson.dumps(login))  # the shop's history: a verified link of v1
    return [line + b"\n" for line in out]


def test_an_import_in_chunks_stores_the_good_lines_and_names_the_bad_ones(platform, monkeypatch):
    engine = platform.engine
    account = create_account(engine, "import in chunks")["account_id"]
    monkeypatch.setattr(event_import, "CHUNK", 3)
    frozen = gc.get_freeze_count()
    seen = []
    totals = event_import.import_lines(engine, account, lines(), "web", lambda n, _s: seen.append(n))
    assert gc.get_freeze_count() == frozen
    assert totals["accepted"] == 11 and totals["rejected"] == 2 and totals["duplicates"] == 0
    assert [e["line"] for e in totals["errors"]] == [4, 7]
    assert "not JSON" in totals["errors"][0]["reason"] and "productKey" in totals["errors"][1]["reason"]
    assert seen == sorted(seen) and seen[-1] == totals["lines"] == 13
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(events).where(events.c.account_id == account))
        assert stored.scalar() == 11
        views = conn.execute(sa.select(interactions.c.contact_id).where(interactions.c.account_id == account)).all()
        assert len(views) == 10 and len({r.contact_id for r in views}) == 4  # one contact a visitor
        ci = contact_identifiers.c
        owner = dict(conn.execute(sa.select(ci.value, ci.contact_id).where(ci.account_id == account)).all())
    assert owner["cust-1"] == owner["v1"]
    again = event_import.import_lines(engine, account, lines(), "web")
    assert again["duplicates"] == 10 and again["rejected"] == 2


def test_a_file_parsed_in_a_worker_process_stores_what_lines_parsed_here_store(platform, monkeypatch, tmp_path):
    engine = platform.engine
    here = create_account(engine, "parsed here")["account_id"]
    worker = create_account(engine, "parsed in a worker")["account_id"]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(lines()))
    seen: list[int] = []
    from_file = event_import.import_file(engine, worker, path, "web", lambda n, _s: seen.append(n))
    assert event_import.import_lines(engine, here, lines(), "web") == from_file
    assert from_file["accepted"] == 11 and seen == [13]

    def stored(account: int) -> list:
        with engine.connect() as conn:
            columns = (events.c.type, events.c.ts, events.c.payload, events.c.event_key)
            return [tuple(r) for r in conn.execute(sa.select(*columns).where(events.c.account_id == account)
                                                   .order_by(events.c.id))]
    assert stored(here) == stored(worker) and len(stored(here)) == 11


def test_a_worker_process_that_fails_stops_the_import_with_its_reason(platform, tmp_path):
    account = create_account(platform.engine, "unreadable")["account_id"]
    with pytest.raises(RecomsError, match=r"parsing process failed: .*No such file"):
        event_import.import_file(platform.engine, account, tmp_path / "gone.jsonl", "web")


@FUZZ
@given(st.lists(WEB, max_size=6))
def test_web_events_sent_back_by_the_worker_are_the_events_parsed_here(envelopes):
    same_events_back(envelopes, "web")


@FUZZ
@given(st.lists(MOBILE, max_size=6))
def test_mobile_events_sent_back_by_the_worker_are_the_events_parsed_here(mobile_events):
    same_events_back(mobile_events, "mobile")


def same_events_back(raw_events: list, form: str) -> None:
    chunk = [(number, orjson.dumps(event)) for number, event in enumerate(raw_events, 1)]
    chunk.append((len(chunk) + 1, b"{not json"))
    with mock.patch.object(tracking, "now_ms", lambda: T0):  # the time of events that give none
        numbers, parsed, bad = event_import._parse(chunk, form)
        packed = event_import._packed(event_import._parse(chunk, form))
        numbers_back, parsed_back, bad_back = event_import._unpack(packed)
    assert (numbers_back, bad_back, parsed_back.errors, parsed_back.ignored) == (
        numbers, bad, parsed.errors, parsed.ignored)
    assert len(parsed_back.events) == len(parsed.events)
    for (index, ev, key, text), (index_back, back, key_back, text_back) in zip(parsed.events, parsed_back.events):
        assert (index_back, key_back, text_back) == (index, key, text)
        assert (back.type, back.ts, back.ids, back.payload, back.contact_id) == (
            ev.type, ev.ts, ev.ids, ev.payload, ev.contact_id)
        if may_name_a_list(text):  # attribution reads the envelope
            assert back.raw == ev.raw
