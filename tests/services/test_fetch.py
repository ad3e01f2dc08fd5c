"""The feed fetcher cannot reach inside (SSRF), cannot be held open, and never echoes what it fetched.

A local server on 127.0.0.1 plays an internal service. 127.0.0.2 plays a public host: the address check
is told to regard it as public, and a fake resolver gives names (public, internal, rebinding) to both.
"""

from __future__ import annotations

import io
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import time

import pytest
from typer.testing import CliRunner

from recoms.services import fetch
from recoms.services.fetch import FetchFailed, FetchPolicy, check_url, download, is_public
from recoms.settings import get_settings
from tests.feeds import gmc_xml
from tests.services.feed_server import SECRET, Drip, FakeDNS, FeedServer

FEED = gmc_xml([{"id": "F1"}, {"id": "F2"}]).encode()
PUBLIC_IP = "127.0.0.2"


def get(url: str, **policy) -> bytes:
    out = io.BytesIO()
    download(url, out, FetchPolicy(**policy))
    return out.getvalue()


def refused(url: str, **policy) -> FetchFailed:
    with pytest.raises(FetchFailed) as caught:
        get(url, **policy)
    assert caught.value.detail == f"could not fetch the feed at {url}"
    assert caught.value.status == 400
    return caught.value


@pytest.fixture
def internal():
    """An internal service: a feed, a secret page, and a server error that says too much."""
    with FeedServer({"/feed.xml": FEED, "/secret": SECRET, "/oops": (500, SECRET)}) as server:
        yield server


@pytest.fixture
def dns(monkeypatch) -> FakeDNS:
    real = fetch.is_public
    monkeypatch.setattr(fetch, "is_public", lambda ip: str(ip) == PUBLIC_IP or real(ip))
    return FakeDNS(monkeypatch)


# --- which addresses are public -----------------------------------------------------------------

NOT_PUBLIC = ["127.0.0.1", "127.255.0.9", "0.0.0.0", "0.1.2.3", "10.1.2.3", "172.16.0.1", "192.168.1.1",
              "169.254.169.254", "100.64.0.1", "192.0.0.8", "198.18.0.1", "192.0.2.1", "224.0.0.1", "239.1.1.1",
              "240.0.0.1", "255.255.255.255", "::", "::1", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
              "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::", "2002:a00:1::",
              "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2001::1", "2001:db8::1", "fe80::1%1"]
PUBLIC = ["1.1.1.1", "8.8.8.8", "93.184.215.14", "2606:4700::1111", "2a00:1450:4001:80b::200e",
          "::ffff:1.1.1.1", "2002:101:101::", "64:ff9b::101:101"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_internal_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_internet_addresses_are_public(address):
    assert is_public(ipaddress.ip_address(address))


# --- every spelling of an internal address ------------------------------------------------------

LOOPBACK_SPELLINGS = ["127.0.0.1", "127.1", "2130706433", "0x7f.1", "0x7f000001", "017700000001", "0.0.0.0", "0",
                      "localhost", "LocalHost", "[::ffff:127.0.0.1]"]


@pytest.mark.parametrize("host", [*LOOPBACK_SPELLINGS, "[::1]", "[::]", "[0:0:0:0:0:ffff:7f00:1]"])
def test_every_spelling_of_loopback_is_refused(internal, host):
    refused(internal.url("/feed.xml", host))
    assert internal.requests == []


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_the_operator_may_allow_private_addresses(internal, host):
    """The same URLs reach the server when allowed: the refusal above is the check, not bad luck."""
    assert get(internal.url("/feed.xml", host), allow_private=True) == FEED


def test_a_name_that_resolves_inside_is_refused(internal, dns):
    dns.add("intranet.example", ["127.0.0.1"])
    dns.add("metadata.example", ["169.254.169.254"])
    refused(internal.url("/feed.xml", "intranet.example"))
    refused("http://metadata.example/latest/meta-data/")
    assert internal.requests == []


def test_one_internal_answer_among_public_ones_refuses_the_name(internal, dns):
    dns.add("mixed.example", [PUBLIC_IP, "127.0.0.1"])
    with FeedServer({"/feed.xml": FEED}, host=PUBLIC_IP, port=internal.port) as public:
        refused(internal.url("/feed.xml", "mixed.example"))
        assert public.requests == [] and internal.requests == []


@pytest.mark.parametrize("url", ["http://user:pw@{host}/feed.xml", "http://user@{host}/feed.xml",
                                 "http://:pw@{host}/feed.xml"])
def test_credentials_in_the_url_are_refused(internal, url):
    url = url.format(host=f"127.0.0.1:{internal.port}")
    with pytest.raises(Exception, match="credentials"):
        check_url(url)
    refused(url, allow_private=True)
    assert internal.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://feeds.example/f.xml", "gopher://x:70/", "dict://x/",
                                 "http:///feed.xml", "feeds.example/feed.xml"])
def test_only_http_and_https_urls_with_a_host(url):
    with pytest.raises(Exception, match="url"):
        check_url(url)
    refused(url, allow_private=True)


# --- public hosts, redirects and rebinding --------------------------------------------------------


@pytest.fixture
def public(dns, internal):
    """A public host, feeds.example, on the internal server's port (so only the address differs)."""
    routes = {"/feed.xml": FEED, "/go": ("redirect", "/feed.xml"), "/loop": ("redirect", "/loop")}
    with FeedServer(routes, host=PUBLIC_IP, port=internal.port) as server:
        dns.add("feeds.example", [PUBLIC_IP])
        dns.add("intranet.example", ["127.0.0.1"])
        yield server


def test_a_public_host_is_fetched_by_its_name(public):
    assert get(public.url("/feed.xml", "feeds.example")) == FEED
    assert public.requests == [("/feed.xml", f"feeds.example:{public.port}")]  # Host is the name, not the IP


def test_redirects_between_public_addresses_are_followed(public):
    assert get(public.url("/go", "feeds.example")) == FEED
    assert public.paths() == ["/go", "/feed.xml"]


def test_more_than_five_redirects_are_refused(public):
    refused(public.url("/loop", "feeds.example"))
    assert public.paths() == ["/loop"] * 6


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/secret", "http://127.1:{port}/secret", "http://2130706433:{port}/secret",
    "http://localhost:{port}/secret", "http://[::ffff:127.0.0.1]:{port}/secret", "http://[::1]:{port}/secret",
    "http://intranet.example:{port}/secret", "http://0.0.0.0:{port}/secret", "file:///etc/passwd",
    "http://admin:pw@feeds.example:{port}/feed.xml",
])
def test_a_redirect_to_an_internal_address_is_refused(public, internal, target):
    public.routes["/jump"] = ("redirect", target.format(port=internal.port))
    error = refused(public.url("/jump", "feeds.example"))
    assert public.paths() == ["/jump"]
    assert internal.requests == []
    assert SECRET not in error.detail


def test_dns_rebinding_is_refused_at_connect_time(public, internal, dns):
    """rebind.example answers a public address, then 127.0.0.1: the second connection is checked again."""
    dns.add("rebind.example", [PUBLIC_IP], ["127.0.0.1"])
    refused(public.url("/go", "rebind.example"))
    assert public.paths() == ["/go"]
    assert internal.requests == []  # the same name, the same port: only the connect-time check stopped it
    assert dns.lookups == ["rebind.example", "rebind.example"]


# --- time, size and what an error may say -------------------------------------------------------


def test_a_dripping_server_is_cut_at_the_deadline_whatever_the_read_timeout(internal):
    internal.routes["/drip"] = Drip(every=0.2, count=100)
    started = time.monotonic()
    refused(internal.url("/drip"), allow_private=True, deadline=1.5, read_timeout=60)
    assert 1.4 < time.monotonic() - started < 5  # the drip would last 20 s


def test_a_server_that_never_answers_is_cut_at_the_deadline():
    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections (the kernel does), never answers
    try:
        started = time.monotonic()
        refused(f"http://127.0.0.1:{silent.getsockname()[1]}/feed.xml", allow_private=True, deadline=1,
                read_timeout=60)
        assert time.monotonic() - started < 5  # the read timeout alone would wait 60 s
    finally:
        silent.close()


def test_a_feed_over_the_size_limit_is_refused(internal):
    refused(internal.url("/feed.xml"), allow_private=True, max_bytes=len(FEED) - 1)
    assert get(internal.url("/feed.xml"), allow_private=True, max_bytes=len(FEED)) == FEED


@pytest.mark.parametrize("path", ["/oops", "/nothing-here"])
def test_an_error_response_is_one_error_without_its_body(internal, path):
    error = refused(internal.url(path), allow_private=True)
    detail = error.detail.replace(internal.url(path), "<url>")  # a random port may hold "404" or "500"
    assert SECRET not in detail and "500" not in detail and "404" not in detail


def test_closed_ports_and_unknown_names_are_the_same_error():
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    refused(f"http://127.0.0.1:{port}/feed.xml", allow_private=True)
    refused("http://no-such-host.invalid/feed.xml", allow_private=True)


# --- TLS: the certificate is checked against the name, while the socket goes to the checked IP ----


@pytest.fixture
def tls_server(tmp_path, public, monkeypatch):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=secure.example",
                    "-addext", "subjectAltName=DNS:secure.example"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the fetcher trusts this certificate, nothing else
    with FeedServer({"/feed.xml": FEED}, host=PUBLIC_IP, tls=context) as server:
        yield server


def test_https_verifies_the_certificate_against_the_host_name(tls_server, dns):
    dns.add("secure.example", [PUBLIC_IP])
    dns.add("impostor.example", [PUBLIC_IP])
    assert get(tls_server.url("/feed.xml", "secure.example", "https")) == FEED
    refused(tls_server.url("/feed.xml", "impostor.example", "https"))  # same IP, a name the cert does not hold
    refused(tls_server.url("/feed.xml", PUBLIC_IP, "https"))


# --- the operator's command -----------------------------------------------------------------------


def test_the_cli_refuses_internal_urls_unless_the_operator_allows_them(internal, tmp_path, monkeypatch):
    from recoms.cli import app

    monkeypatch.setenv("RECOMS_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(app, ["account", "create", "Shop"]).exit_code == 0
        url = internal.url("/feed.xml")
        denied = runner.invoke(app, ["feed", "import", url])
        assert denied.exit_code == 2 and f"could not fetch the feed at {url}" in denied.output
        assert internal.requests == []
        allowed = runner.invoke(app, ["feed", "import", url, "--allow-private"])
        assert allowed.exit_code == 0, allowed.output
        assert json.loads(allowed.stdout)["itemsOk"] == 2
    finally:
        get_settings.cache_clear()
