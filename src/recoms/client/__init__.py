"""A Python client for the mobile flow: token rotation, a new token on 401, retries on transient errors.

    client = RecomsClient("https://recoms.example.com", api_key="rk_...")
    contact = client.contact(email="ann@example.com")   # what the shop's server does
    products = contact.recommendations(7, products=["P1"])  # what the app does, token handled

The token endpoint needs the API key, so this client is for the shop's server (or a backend for the
app); a mobile app does the same three steps in its own language.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

RETRY_STATUSES = {429, 502, 503, 504}


class RecomsError(Exception):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {problem.get('detail', problem)}")
        self.status = status
        self.problem = problem


class RecomsClient:
    def __init__(
        self, base_url: str, api_key: str, timeout: float = 5.0, retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout, auth=("recoms", api_key), transport=transport)
        self.retries = retries

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One call, retried with backoff on network errors and 429/5xx answers."""
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                    return response
            time.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    def token(self, **identifiers: str) -> str:
        response = self.request("POST", "/api/v1/auth/contact/token", json=identifiers)
        if response.status_code != 200:
            raise RecomsError(response.status_code, _problem(response))
        return response.json()["token"]

    def contact(self, **identifiers: str) -> Contact:
        return Contact(self, identifiers)


class Contact:
    """One contact's recommendations: keeps the current ES-TOKEN, gets a new one when refused."""

    def __init__(self, client: RecomsClient, identifiers: dict[str, str]) -> None:
        self.client = client
        self.identifiers = identifiers
        self.current: str | None = None

    def recommendations(
        self, datasource_id: int, products: list[str] | None = None, category: list[str] | None = None,
        filters: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        body = {"products": products or [], "category": category or [], "filters": filters or []}
        for attempt in range(2):
            if self.current is None:
                self.current = self.client.token(**self.identifiers)
            response = self.client.request(
                "POST", f"/api/v1/recoms/{datasource_id}", json=body, headers={"ES-TOKEN": self.current}
            )
            # Every answer after the token was accepted carries the next one, errors included.
            self.current = response.headers.get("ES-TOKEN")
            if response.status_code == 401 and attempt == 0:
                continue  # used, expired or revoked: ask for a new token once
            if response.status_code != 200:
                raise RecomsError(response.status_code, _problem(response))
            return response.json()
        raise AssertionError("unreachable")


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text[:200]}
