"""Fetching a feed URL without reaching inside: public addresses only, one deadline, one error.

The address a connection is made to is the address that was checked. The host is resolved here, every
answer must be a public address (unless the operator allows private ones), and the socket connects to
that checked IP while the request keeps the host name for the Host header, SNI and the certificate
check. No second lookup happens that a hostile DNS server could answer differently (rebinding), and
every redirect hop is a new URL checked the same way. One deadline bounds the whole download (connect,
TLS, redirects, every read), so a server dripping one byte a second cannot hold a thread for hours.

Whatever goes wrong, the caller gets one `FetchFailed` naming the URL and nothing the server sent, so
an import cannot be used to read internal pages or to tell open ports from closed ones.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import IO

import httpcore
import httpx

from recoms import __version__
from recoms.errors import BadRequest

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Ranges that carry an IPv4 address in an IPv6 one: judged by the IPv4 address they carry.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Not public whatever the stdlib's tables of this Python version say.
_NEVER_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
    "::/127", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "2001::/32", "2001:db8::/32",
))


class FetchFailed(BadRequest):
    """The one error of a download, whatever the reason (that goes to the log, not to the caller)."""

    def __init__(self, url: str) -> None:
        super().__init__(f"could not fetch the feed at {url}")


class _Refused(Exception):
    """Why a fetch stopped, for the log only."""


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = 1 << 30
    read_timeout: float = 60.0  # connect and per read; the deadline bounds the whole download
    deadline: float = 600.0
    allow_private: bool = False  # the operator's choice: feeds on the shop's own network
    max_redirects: int = MAX_REDIRECTS

    @classmethod
    def from_settings(cls, settings, allow_private: bool | None = None) -> FetchPolicy:
        return cls(settings.max_feed_bytes, settings.feed_fetch_timeout_seconds,
                   settings.feed_fetch_deadline_seconds,
                   settings.feed_fetch_allow_private if allow_private is None else allow_private)


def is_public(ip: IPAddress) -> bool:
    """A globally routable unicast address: no loopback, private, link-local, CGNAT, multicast, reserved."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
        if ip.scope_id:
            return False
    if any(ip in net for net in _NEVER_PUBLIC if net.version == ip.version):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback
                                 or ip.is_link_local or ip.is_private)


def check_url(url: str | httpx.URL) -> httpx.URL:
    """An http(s) URL with a host and no credentials (the address is checked when connecting)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise BadRequest("url is not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise BadRequest("url must be an http(s) URL")
    if not parsed.host:
        raise BadRequest("url must name a host")
    if parsed.userinfo:
        raise BadRequest("url must not carry credentials (user:password@)")
    return parsed


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host name resolves to (IP literals in any spelling resolve to themselves)."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = []
    for _family, _type, _proto, _name, sockaddr in answers:
        ip = ipaddress.ip_address(sockaddr[0])
        if isinstance(ip, ipaddress.IPv6Address) and len(sockaddr) > 3 and sockaddr[3]:
            ip = ipaddress.IPv6Address(f"{ip}%{sockaddr[3]}")
        if ip not in addresses:
            addresses.append(ip)
    return addresses


class Deadline:
    """The end of the whole download; clamps every network wait so none runs past it."""

    def __init__(self, seconds: float, cancel: threading.Event | None = None) -> None:
        self.end = time.monotonic() + seconds
        self.cancel = cancel

    def clamp(self, timeout: float | None) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise _Refused("the download deadline passed")
        if self.cancel is not None and self.cancel.is_set():
            raise _Refused("the server is stopping")
        return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        # server_hostname is the URL's host name, never the IP: certificates are checked against it.
        tls = self._inner.start_tls(ssl_context, server_hostname, self._deadline.clamp(timeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class _CheckedBackend(httpcore.NetworkBackend):
    """Resolves, checks every answer, and connects to a checked IP, never to the name."""

    def __init__(self, policy: FetchPolicy, deadline: Deadline) -> None:
        self._policy, self._deadline = policy, deadline
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options=None) -> httpcore.NetworkStream:
        addresses = resolve(host, port)
        refused = [ip for ip in addresses if not is_public(ip)]
        if not addresses or (refused and not self._policy.allow_private):
            # One private answer refuses the name: a mixed answer is how rebinding is staged.
            raise _Refused(f"{host} resolves to addresses that are not public: {refused}")
        last: Exception | None = None
        for ip in addresses:
            try:
                stream = self._tcp.connect_tcp(str(ip), port, self._deadline.clamp(timeout), local_address,
                                               socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        raise last or _Refused(f"no address of {host} answered")

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise _Refused("unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(self._deadline.clamp(seconds))


class _Body(httpx.SyncByteStream):
    def __init__(self, stream) -> None:
        self._stream = stream

    def __iter__(self):
        yield from self._stream

    def close(self) -> None:
        if hasattr(self._stream, "close"):
            self._stream.close()


class _CheckedTransport(httpx.BaseTransport):
    """httpx over an httpcore pool whose every connection goes through `_CheckedBackend`.

    No proxy from the environment: a proxy would resolve the name itself, past our check.
    """

    def __init__(self, policy: FetchPolicy, deadline: Deadline) -> None:
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), max_connections=2,
                                             network_backend=_CheckedBackend(policy, deadline))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._pool.handle_request(httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                             target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions,
        ))
        return httpx.Response(status_code=response.status, headers=response.headers, stream=_Body(response.stream),
                              extensions=response.extensions)

    def close(self) -> None:
        self._pool.close()


def download(url: str, out: IO[bytes], policy: FetchPolicy, cancel: threading.Event | None = None) -> None:
    """Write the body at `url` to `out`; `FetchFailed` (and nothing of the response) on any failure."""
    deadline = Deadline(policy.deadline, cancel)
    try:
        with httpx.Client(transport=_CheckedTransport(policy, deadline), trust_env=False, follow_redirects=False,
                          timeout=httpx.Timeout(policy.read_timeout),
                          headers={"User-Agent": f"recoms/{__version__} (feed import)"}) as client:
            _follow(client, url, out, policy, deadline)
    except Exception as exc:  # every reason is the one error; the log keeps the reason, never the content
        log.warning("feed download of %s failed: %s: %s", url, type(exc).__name__, exc)
        raise FetchFailed(url) from None


def _follow(client: httpx.Client, url: str, out: IO[bytes], policy: FetchPolicy, deadline: Deadline) -> None:
    current = check_url(url)
    for _hop in range(policy.max_redirects + 1):
        with client.stream("GET", current) as response:
            location = response.headers.get("location")
            if response.status_code in REDIRECTS and location:
                current = check_url(current.join(location))  # the next hop is checked like the first
                continue
            if response.status_code != 200:
                raise _Refused(f"HTTP status {response.status_code}")
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > policy.max_bytes:
                    raise _Refused(f"larger than {policy.max_bytes} bytes")
                deadline.clamp(None)  # also between chunks that arrive in time, one by one
                out.write(chunk)
            return
    raise _Refused(f"more than {policy.max_redirects} redirects")
