"""Token exchanges, batched off the event loop or in place (SQLite), in order, each request answered with its own."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
import sqlalchemy as sa

from recoms.services.off_loop import TokenExchanges
from recoms.store import db
from recoms.store.tokens import SqlTokenStore
from tests.conftest import REDIS


class Recording:
    """The store, recording each batch; the first batch waits until the test lets it go."""

    def __init__(self, store) -> None:
        self.store = store
        self.batches: list[int] = []
        self.release = threading.Event()

    def exchange_many(self, tokens):
        if not self.batches:
            self.release.wait(5)
        self.batches.append(len(tokens))
        return self.store.exchange_many(tokens)


def test_concurrent_requests_share_a_transaction_and_get_their_own_answers(platform):
    store = SqlTokenStore(platform.engine, 3600)
    recording = Recording(store)
    exchanges = TokenExchanges(recording)
    tokens = [store.issue(1, contact) for contact in range(40)]

    async def main():
        first = asyncio.create_task(exchanges.exchange(tokens[0]))
        await asyncio.sleep(0.05)  # the thread holds the first batch: the others queue behind it
        rest = [asyncio.create_task(exchanges.exchange(t)) for t in tokens[1:]]
        await asyncio.sleep(0.05)
        recording.release.set()
        return await asyncio.gather(first, *rest)

    results = asyncio.run(main())
    exchanges.stop()
    assert [grant.contact_id for grant, _ in results] == list(range(40))
    assert len({nxt for _, nxt in results}) == 40
    assert recording.batches == [1, 39]  # 39 exchanges, one transaction
    assert all(store.exchange(nxt) is not None for _, nxt in results)  # each next token is live


def test_a_replay_in_the_same_batch_is_refused(platform):
    store = SqlTokenStore(platform.engine, 3600)
    exchanges = TokenExchanges(store)
    token = store.issue(1, 1)

    async def main():
        return await asyncio.gather(*(exchanges.exchange(token) for _ in range(10)))

    results = asyncio.run(main())
    exchanges.stop()
    assert sum(r is not None for r in results) == 1


def test_a_store_that_does_not_answer_fails_every_request_of_the_batch_and_spends_nothing(platform):
    store = SqlTokenStore(platform.engine, 3600)
    tokens = [store.issue(1, 1) for _ in range(5)]

    class Down:
        def exchange_many(self, tokens):
            raise sa.exc.OperationalError("UPDATE", (), Exception("connection refused"))

    exchanges = TokenExchanges(Down())

    async def main():
        return await asyncio.gather(*(exchanges.exchange(t) for t in tokens), return_exceptions=True)

    results = asyncio.run(main())
    exchanges.stop()
    assert all(isinstance(r, sa.exc.OperationalError) for r in results)
    assert all(store.exchange(t) is not None for t in tokens)  # not spent: they work once it is back


def test_two_event_loops_each_get_their_answers(platform):
    store = SqlTokenStore(platform.engine, 3600)
    exchanges = TokenExchanges(store)
    answers: dict[int, list] = {}

    def serve(n: int) -> None:
        tokens = [store.issue(n, i) for i in range(10)]

        async def main():
            return await asyncio.gather(*(exchanges.exchange(t) for t in tokens))

        answers[n] = asyncio.run(main())

    threads = [threading.Thread(target=serve, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    exchanges.stop()
    for n in (1, 2):
        assert [(g.account_id, g.contact_id) for g, _ in answers[n]] == [(n, i) for i in range(10)]


@pytest.mark.parametrize("max_batch", [1, 3])
def test_batches_are_bounded(platform, max_batch):
    store = SqlTokenStore(platform.engine, 3600)
    recording = Recording(store)
    recording.release.set()
    exchanges = TokenExchanges(recording, max_batch=max_batch)
    tokens = [store.issue(1, i) for i in range(10)]

    async def main():
        return await asyncio.gather(*(exchanges.exchange(t) for t in tokens))

    results = asyncio.run(main())
    exchanges.stop()
    assert all(r is not None for r in results)
    assert max(recording.batches) <= max_batch and sum(recording.batches) == 10


class InPlace:
    """`try_exchange_many` on the event loop's thread, recording each batch; None (the lock is held) while
    `busy` is set."""

    def __init__(self, store) -> None:
        self.store = store
        self.batches: list[tuple[int, str]] = []
        self.busy = False

    async def __call__(self, tokens):
        self.batches.append((len(tokens), threading.current_thread().name))
        return None if self.busy else self.store.try_exchange_many(tokens)


def test_in_place_the_requests_of_one_turn_of_the_loop_share_a_transaction(tmp_path):
    store = SqlTokenStore(db.make_engine(f"sqlite:///{tmp_path}/t.db"), 3600)
    _create(store)
    in_place = InPlace(store)
    exchanges = TokenExchanges(store, in_place=in_place)
    tokens = [store.issue(1, contact) for contact in range(20)]

    async def main():
        first = await exchanges.exchange(tokens[0])
        return [first, *await asyncio.gather(*(exchanges.exchange(t) for t in tokens[1:]))]

    results = asyncio.run(main())
    exchanges.stop()
    assert [grant.contact_id for grant, _ in results] == list(range(20))
    assert in_place.batches == [(1, "MainThread"), (19, "MainThread")]
    assert all(store.exchange(nxt) is not None for _, nxt in results)


def test_in_place_a_batch_behind_another_writer_goes_to_the_thread(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/t.db")
    store = SqlTokenStore(engine, 3600)
    _create(store)
    tokens = [store.issue(1, contact) for contact in range(5)]
    async def in_place(tokens):
        return store.try_exchange_many(tokens)

    exchanges = TokenExchanges(store, in_place=in_place)
    holder = engine.connect()
    holder.begin()  # another writer holds SQLite's write lock

    async def main():
        waiting = asyncio.gather(*(exchanges.exchange(t) for t in tokens))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # the thread waits for the lock, the loop goes on
        holder.rollback()
        return await waiting

    results = asyncio.run(main())
    holder.close()
    exchanges.stop()
    assert [grant.contact_id for grant, _ in results] == list(range(5))


def test_in_place_a_batch_behind_a_short_write_waits_on_the_loop(tmp_path):
    """A writer holding the lock for milliseconds (the recommendation log's commit): the batch tries again
    on the loop and is answered there, never handed to the thread."""
    engine = db.make_engine(f"sqlite:///{tmp_path}/t.db")
    store = SqlTokenStore(engine, 3600)
    _create(store)
    tokens = [store.issue(1, contact) for contact in range(5)]
    attempts: list[tuple[str, bool]] = []

    async def in_place(batch):
        outcome = store.try_exchange_many(batch)
        attempts.append((threading.current_thread().name, outcome is not None))
        return outcome

    exchanges = TokenExchanges(store, in_place=in_place)
    holder = engine.connect()
    holder.begin()

    async def main():
        asyncio.get_running_loop().call_later(0.01, holder.rollback)
        return await asyncio.gather(*(exchanges.exchange(t) for t in tokens))

    results = asyncio.run(main())
    holder.close()
    exchanges.stop()
    assert [grant.contact_id for grant, _ in results] == list(range(5))
    assert len(attempts) > 1 and {name for name, _ in attempts} == {"MainThread"}
    assert [answered for _, answered in attempts] == [False] * (len(attempts) - 1) + [True]


def test_in_place_a_failing_store_fails_the_batch(tmp_path):
    async def down(tokens):
        raise sa.exc.OperationalError("UPDATE", (), Exception("disk I/O error"))

    store = SqlTokenStore(db.make_engine(f"sqlite:///{tmp_path}/t.db"), 3600)
    exchanges = TokenExchanges(store, in_place=down)

    async def main():
        return await asyncio.gather(*(exchanges.exchange(t) for t in ("a", "b")), return_exceptions=True)

    assert all(isinstance(r, sa.exc.OperationalError) for r in asyncio.run(main()))


def _create(store: SqlTokenStore) -> None:
    from recoms.store.tables import contacts, metadata, token_chains

    metadata.create_all(store.engine, tables=[contacts, token_chains])  # an exchange reads the contact's mark


@pytest.mark.skipif(not REDIS, reason="RECOMS_TEST_REDIS_URL not set")
def test_redis_in_place_batches_are_awaited_on_the_loop():
    from recoms.store.redis_tokens import RedisTokenStore

    store = RedisTokenStore(REDIS, 3600, prefix=f"recoms-test-{uuid.uuid4().hex[:8]}:")
    batches: list[int] = []

    async def in_place(tokens):
        batches.append(len(tokens))
        return await store.exchange_many_async(tokens)

    exchanges = TokenExchanges(store, in_place=in_place)
    tokens = [store.issue(2, contact) for contact in range(30)]

    async def main():
        first = await asyncio.gather(*(exchanges.exchange(t) for t in tokens))
        # Replays, and the next tokens, in one batch: each replay revokes its chain, as one by one.
        again = await asyncio.gather(*(exchanges.exchange(t) for t in [tokens[0], first[1][1], first[0][1]]))
        return first, again

    first, again = asyncio.run(main())
    exchanges.stop()
    assert [grant.contact_id for grant, _ in first] == list(range(30))
    assert batches == [30, 3]
    assert again[0] is None and again[1] is not None and again[2] is None  # chain 0 was revoked by the replay
