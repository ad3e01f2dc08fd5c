"""v2's remembered contacts: requests naming the same contact at once share one lookup."""

from __future__ import annotations

import asyncio

import pytest

from recoms.services.known_contacts import KnownContacts

KIM = {"email": "kim@shop.test"}


class Lookups:
    """A lookup that answers when the test lets it (as a round trip on the reads' thread would), counted."""

    def __init__(self, answer: int | None = 7, error: Exception | None = None) -> None:
        self.answer, self.error = answer, error
        self.made = 0
        self.release = asyncio.Event()

    async def __call__(self) -> int | None:
        self.made += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.answer


def test_requests_naming_a_contact_at_once_share_one_lookup_and_then_remember_it():
    async def scenario():
        known, look_up = KnownContacts(), Lookups()
        waiting = [asyncio.create_task(known.find(1, KIM, look_up)) for _ in range(10)]
        other = asyncio.create_task(known.find(1, {"email": "lee@shop.test"}, look_up))
        elsewhere = asyncio.create_task(known.find(2, KIM, look_up))  # the same email in another shop
        await asyncio.sleep(0)
        look_up.release.set()
        assert await asyncio.gather(*waiting) == [7] * 10
        await asyncio.gather(other, elsewhere)
        assert look_up.made == 3  # one per (shop, identifiers)
        assert await known.find(1, KIM, look_up) == 7
        assert look_up.made == 3  # remembered

    asyncio.run(scenario())


def test_a_requester_that_goes_away_does_not_take_the_lookup_with_it():
    async def scenario():
        known, look_up = KnownContacts(), Lookups()
        first = asyncio.create_task(known.find(1, KIM, look_up))
        await asyncio.sleep(0)
        second = asyncio.create_task(known.find(1, KIM, look_up))
        await asyncio.sleep(0)
        first.cancel()  # its client left
        await asyncio.sleep(0)
        look_up.release.set()
        assert await second == 7
        assert first.cancelled()
        assert look_up.made == 1

    asyncio.run(scenario())


def test_a_failed_lookup_fails_each_requester_and_the_next_one_looks_again():
    async def scenario():
        known, look_up = KnownContacts(), Lookups(error=ConnectionError("the database does not answer"))
        waiting = [asyncio.create_task(known.find(1, KIM, look_up)) for _ in range(3)]
        await asyncio.sleep(0)
        look_up.release.set()
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        assert [type(o) for o in outcomes] == [ConnectionError] * 3
        look_up.error = None
        assert await known.find(1, KIM, look_up) == 7
        assert look_up.made == 2

    asyncio.run(scenario())


@pytest.mark.parametrize("share", [True, False])
def test_nobody_is_not_remembered(share):
    async def scenario():
        known, look_up = KnownContacts(share_lookups=share), Lookups(answer=None)
        look_up.release.set()
        assert await known.find(1, KIM, look_up) is None
        assert await known.find(1, KIM, look_up) is None
        assert look_up.made == 2  # a customer registered a moment ago is recognised at once

    asyncio.run(scenario())
