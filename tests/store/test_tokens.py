"""The TokenStore contract, run on the SQL store of every backend and on Redis when configured."""

from __future__ import annotations

import asyncio
import string
import threading
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recoms.store.tokens import SECRET_CHARS, SqlTokenStore, new_secret, new_secrets
from tests.conftest import REDIS

URL_SAFE = set(string.ascii_letters + string.digits + "-_")

STORES = ["sql"] + (["redis"] if REDIS else [])


@pytest.fixture(params=STORES)
def make_store(request, platform):
    if request.param == "sql":
        return lambda ttl=3600: SqlTokenStore(platform.engine, ttl)
    from recoms.store.redis_tokens import RedisTokenStore

    prefix = f"recoms-test-{uuid.uuid4().hex[:8]}:"
    return lambda ttl=3600: RedisTokenStore(REDIS, ttl, prefix=prefix)


def test_exchange_returns_the_grant_and_a_new_token(make_store):
    store = make_store()
    token = store.issue(7, 42)
    grant, nxt = store.exchange(token)
    assert (grant.account_id, grant.contact_id) == (7, 42)
    assert nxt != token and len(nxt) >= 22
    grant2, _ = store.exchange(nxt)
    assert grant2 == grant  # same chain, same contact


def test_a_token_works_once_and_a_replay_revokes_its_chain(make_store):
    store = make_store()
    first = store.issue(1, 1)
    _, second = store.exchange(first)
    _, third = store.exchange(second)
    assert store.exchange(first) is None  # replay
    assert store.exchange(third) is None  # the chain is revoked
    other = store.issue(1, 1)
    assert store.exchange(other) is not None  # other chains are untouched


def test_unknown_and_expired_tokens_are_refused(make_store):
    store = make_store(ttl=1)
    assert store.exchange("nope") is None
    token = store.issue(1, 1)
    time.sleep(1.1)
    assert store.exchange(token) is None


def test_concurrent_exchanges_of_one_token_succeed_once(make_store):
    store = make_store()
    token = store.issue(1, 1)
    results = []
    barrier = threading.Barrier(20)

    def call():
        barrier.wait()
        results.append(store.exchange(token))

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1


@pytest.mark.skipif(REDIS is None, reason="RECOMS_TEST_REDIS_URL not set")
def test_redis_keeps_only_hashes():
    import redis

    from recoms.store.redis_tokens import RedisTokenStore

    prefix = f"recoms-test-{uuid.uuid4().hex[:8]}:"
    token = RedisTokenStore(REDIS, 3600, prefix=prefix).issue(3, 4)
    keys = [k.decode() for k in redis.Redis.from_url(REDIS).scan_iter(f"{prefix}*")]
    assert keys and all(token not in k for k in keys)


@pytest.mark.skipif(not REDIS, reason="RECOMS_TEST_REDIS_URL not set")
def test_a_redis_that_forgot_the_script_still_exchanges_once():
    """A restarted Redis has no scripts: the exchange loads it again, and the token is spent once."""
    import redis

    from recoms.store.redis_tokens import RedisTokenStore

    store = RedisTokenStore(REDIS, 3600, prefix=f"recoms-test-{uuid.uuid4().hex[:8]}:")
    token = store.issue(5, 6)
    redis.Redis.from_url(REDIS).script_flush()
    grant, following = store.exchange(token)
    assert (grant.account_id, grant.contact_id) == (5, 6)
    assert store.exchange(token) is None  # spent: a replay, which revokes the chain
    assert store.exchange(following) is None

    batch = [store.issue(5, 7), store.issue(5, 8)]
    redis.Redis.from_url(REDIS).script_flush()
    results = store.exchange_many(batch)  # one script call, refused: run again once loaded
    assert [grant.contact_id for grant, _ in results] == [7, 8]
    assert store.exchange_many(batch) == [None, None]

    async def on_a_loop():  # the same on the event loop's own connections
        batch = [store.issue(5, 9), store.issue(5, 10)]
        redis.Redis.from_url(REDIS).script_flush()
        results = await store.exchange_many_async(batch)
        return results, await store.exchange_many_async(batch)

    results, replayed = asyncio.run(on_a_loop())
    assert [grant.contact_id for grant, _ in results] == [9, 10] and replayed == [None, None]


def test_exchange_many_is_each_exchange_in_order(make_store):
    store = make_store()
    first, other = store.issue(3, 30), store.issue(3, 31)
    results = store.exchange_many([first, "nope", other, first, "x" * 80])
    assert [r is not None for r in results] == [True, False, True, False, False]
    assert (results[0][0].contact_id, results[2][0].contact_id) == (30, 31)
    # `first` came again within the batch: a replay, which revoked its chain, the new token with it.
    assert store.exchange(results[0][1]) is None
    assert store.exchange(results[2][1]) is not None  # the other chain is untouched
    assert store.exchange_many([]) == []
    assert store.exchange_many(["nope"]) == [None]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["current", "spent", "junk"])), max_size=12),
       on_a_loop=st.booleans())
def test_a_batch_ends_as_its_exchanges_one_by_one(make_store, picks, on_a_loop):
    """Any batch (several chains, replays of spent tokens, a token twice, junk) answers and leaves every
    chain as exchanging its tokens one at a time, in order, does: two stores, the same history."""
    batch_store, single_store = make_store(), make_store()

    def history(store):  # four chains; each moved on once, so each has a spent token and a current one
        chains = []
        for n in range(4):
            spent = store.issue(9, 100 + n)
            chains.append({"spent": spent, "current": store.exchange(spent)[1], "junk": spent[:-1] + "x"})
        return chains

    batch_chains, single_chains = history(batch_store), history(single_store)
    asked = [batch_chains[n][kind] for n, kind in picks]
    if on_a_loop and hasattr(batch_store, "exchange_many_async"):  # Redis's, awaited on an event loop
        batched = asyncio.run(batch_store.exchange_many_async(asked))
    else:
        batched = batch_store.exchange_many(asked)
    one_by_one = [single_store.exchange(single_chains[n][kind]) for n, kind in picks]
    assert [r and r[0].contact_id for r in batched] == [r and r[0].contact_id for r in one_by_one]
    # Afterwards: the same chains still work (the new tokens, or the current ones never used).
    for n in range(4):
        batch_next = next((r[1] for (m, _), r in zip(picks, batched) if m == n and r), batch_chains[n]["current"])
        single_next = next((r[1] for (m, _), r in zip(picks, one_by_one) if m == n and r),
                           single_chains[n]["current"])
        assert (batch_store.exchange(batch_next) is None) == (single_store.exchange(single_next) is None)


def test_a_batch_s_next_secrets_are_as_random_and_shaped_as_one_s():
    batch = new_secrets(500)
    assert len(set(batch)) == 500 and new_secret() not in batch
    assert all(len(s) == SECRET_CHARS and set(s) <= URL_SAFE for s in batch)
    assert {len(s) for s in new_secrets(3)} == {len(new_secret())}
    # 256 random bits each: over 500 secrets every character of the alphabet turns up
    assert set("".join(batch)) == URL_SAFE
