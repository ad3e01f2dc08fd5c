"""The Python client against the real application (in-process transport)."""

from __future__ import annotations

import httpx
import pytest

from recoms.client import RecomsClient, RecomsError
from tests.conftest import envelope
from tests.feeds import gmc_xml


class InProcess(httpx.BaseTransport):
    """Hands each request to the test client (the ASGI app), as a network would."""

    def __init__(self, test_client) -> None:
        self.test_client = test_client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        r = self.test_client.request(request.method, request.url.raw_path.decode(), content=request.read(),
                                     headers=dict(request.headers))
        return httpx.Response(r.status_code, headers=r.headers, content=r.content)


def test_the_client_rotates_tokens_and_recovers_from_a_401(shop):
    shop.feed(gmc_xml([{"id": p} for p in "ABC"]))
    shop.events([envelope("PurchasedItems", {"OrderNumber": p, "Products": [{"product_id": p}]}, sc=p) for p in "ABC"])
    shop.train()
    ds = shop.datasource(algorithm="bestsellers", size=2)
    client = RecomsClient("http://test", shop.key, transport=InProcess(shop.client))
    contact = client.contact(email="c@shop.test")
    assert len(contact.recommendations(ds)) == 2
    first = contact.current
    assert len(contact.recommendations(ds)) == 2 and contact.current != first
    contact.current = "stale-token"  # e.g. the app slept past the token's lifetime
    assert len(contact.recommendations(ds)) == 2
    with pytest.raises(RecomsError) as err:
        contact.recommendations(999_999)
    assert err.value.status == 404 and contact.current  # a new token came with the error


def test_the_client_reports_a_refused_token_request(shop):
    client = RecomsClient("http://test", "rk_wrong", transport=InProcess(shop.client))
    with pytest.raises(RecomsError) as err:
        client.token(email="c@shop.test")
    assert err.value.status == 401
