"""Acceptance tests of the feed readers: formats, item errors, hostile XML, streaming, plugins."""

from __future__ import annotations

import gc
import io
import json
import logging
import resource
import socket
import time
import tracemalloc
import urllib.request
from collections.abc import Iterable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import recoms.catalog as catalog
from recoms.catalog import (
    PLUGIN_GROUP,
    READERS,
    FeedError,
    FeedRefused,
    builtin_readers,
    detect_format,
    load_readers,
    merge_readers,
    parse_price,
    read_feed,
)
from recoms.domain.product import Product

FIXTURES = Path(__file__).parent / "fixtures"
G = 'xmlns:g="http://base.google.com/ns/1.0"'
YML_DOCTYPE = '<!DOCTYPE yml_catalog SYSTEM "http://127.0.0.1:9/shops.dtd">'

# The reference catalog every catalog.* fixture encodes.
CATALOG = [
    Product(
        id="SKU-1",
        name="Cast iron pan 24 cm",
        url="https://shop.example/p/sku-1",
        price=24.9,
        descr="Heavy pan & lid included",
        brand="Ferrum",
        category=["Home", "Kitchen", "Pans"],
        in_stock=True,
        tags={
            "image_link": "https://shop.example/img/sku-1.jpg",
            "additional_image_link": "https://shop.example/img/sku-1-b.jpg,https://shop.example/img/sku-1-c.jpg",
            "product_type": "Home > Kitchen > Pans",
            "color": "black",
            "size": "24 cm",
            "currency": "USD",
        },
    ),
    Product(
        id="SKU-2",
        name="Linen T-shirt",
        url="https://shop.example/p/sku-2",
        price=1299.0,
        descr="Soft, washed linen",
        brand="Norr",
        category=["Apparel", "Tops"],
        in_stock=False,
        tags={
            "image_link": "https://shop.example/img/sku-2.jpg",
            "product_type": "Apparel > Tops",
            "color": "white",
            "size": "M",
            "gender": "female",
            "currency": "USD",
        },
    ),
    Product(
        id="SKU-3",
        name="Chef knife 20 cm",
        url="https://shop.example/p/sku-3",
        price=59.0,
        category=["Home", "Kitchen", "Knives"],
        in_stock=True,
        tags={
            "image_link": "https://shop.example/img/sku-3.jpg",
            "product_type": "Home > Kitchen > Knives",
            "material": "steel",
            "currency": "USD",
        },
    ),
]

CATALOG_FILES = {
    "gmc_xml": "catalog.rss.xml",
    "gmc_atom": "catalog.atom.xml",
    "gmc_tsv": "catalog.tsv",
    "gmc_csv": "catalog.csv",
    "yml": "catalog.yml.xml",
}


def read_all(data: bytes, fmt: str | None = None) -> list[Product | FeedError]:
    return list(read_feed(io.BytesIO(data), fmt))


def read_fixture(name: str, fmt: str | None = None) -> list[Product | FeedError]:
    with (FIXTURES / name).open("rb") as stream:
        return list(read_feed(stream, fmt))


def rss(*items: str) -> bytes:
    return f'<rss version="2.0" {G}><channel>{"".join(items)}</channel></rss>'.encode()


def yml(offers: str, categories: str = '<category id="1">All</category>', prolog: str = "") -> bytes:
    return (
        f"{prolog}<yml_catalog><shop><categories>{categories}</categories>"
        f"<offers>{offers}</offers></shop></yml_catalog>"
    ).encode()


# --- one catalog, five encodings ------------------------------------------------------------


@pytest.mark.parametrize("fmt", CATALOG_FILES)
def test_each_format_imports_the_reference_catalog(fmt: str) -> None:
    assert read_fixture(CATALOG_FILES[fmt], fmt) == CATALOG


def test_the_same_catalog_gives_equal_products_in_every_format() -> None:
    imported = {fmt: read_fixture(name) for fmt, name in CATALOG_FILES.items()}  # formats detected
    assert imported["gmc_xml"] == imported["gmc_tsv"] == imported["yml"]
    assert all(products == imported["gmc_xml"] for products in imported.values())


def test_products_keep_the_response_shape() -> None:
    body = read_fixture("catalog.rss.xml")[1].to_response()
    assert body["isInStock"] == 0
    assert body["tags_gender"] == "female"
    assert body["category"] == ["Apparel", "Tops"]


# --- GMC XML details ------------------------------------------------------------------------


def test_bad_items_are_reported_and_skipped_while_good_ones_import() -> None:
    records = read_fixture("bad_items.rss.xml")
    errors = [r for r in records if isinstance(r, FeedError)]
    assert [p.id for p in records if isinstance(p, Product)] == ["GOOD-0", "GOOD-7"]
    assert [(e.index, e.item_id) for e in errors] == [
        (1, None),
        (2, "BAD-PRICE"),
        (3, "EMPTY-TITLE"),
        (4, "NEGATIVE"),
        (5, "NO-PRICE"),
        (6, "ODD-STOCK"),
    ]
    reasons = [e.reason for e in errors]
    assert reasons[0] == "missing id"
    assert reasons[1] == "price is not a number: 'call us'"
    assert reasons[2] == "missing or empty title"
    assert reasons[3] == "price is negative: '-5.00 EUR'"
    assert reasons[4] == "missing price"
    assert reasons[5] == "unknown availability: 'maybe'"


def test_numeric_google_category_nested_and_extra_fields() -> None:
    toaster = read_fixture("bad_items.rss.xml")[-1]
    assert toaster == Product(
        id="GOOD-7",
        name="Toaster",
        price=12.99,
        category=["1604"],
        tags={
            "google_product_category": "1604",
            "condition": "refurbished",
            "gtin": "4006381333931",
            "shipping_country": "DE,AT",
            "shipping_price": "4.95 EUR,6.00 EUR",
            "currency": "EUR",
        },
    )


def test_a_document_that_stops_being_well_formed_ends_with_one_feed_error() -> None:
    records = read_fixture("truncated.rss.xml")
    assert [r.id for r in records[:2]] == ["A", "B"]
    assert len(records) == 3
    error = records[2]
    assert isinstance(error, FeedError)
    assert (error.index, error.item_id) == (-1, None)
    assert error.reason.startswith("malformed XML: mismatched tag: line 7")


def test_a_cut_off_download_ends_with_one_feed_error() -> None:
    data = (FIXTURES / "catalog.rss.xml").read_bytes()
    records = read_all(data[: data.index(b"<g:id>SKU-3")])
    assert records[:2] == CATALOG[:2]
    assert records[2].index == -1 and "malformed XML" in records[2].reason


@pytest.mark.parametrize(
    ("availability", "in_stock"),
    [
        ("in stock", True),
        ("In_Stock", True),
        ("preorder", True),
        ("pre-order", True),
        ("backorder", False),
        ("out of stock", False),
        ("out_of_stock", False),
        ("", True),
    ],
)
def test_availability(availability: str, in_stock: bool) -> None:
    item = (
        "<item><g:id>1</g:id><title>T</title><g:price>1</g:price>"
        f"<g:availability>{availability}</g:availability></item>"
    )
    [product] = read_all(rss(item))
    assert product.in_stock is in_stock


def test_product_type_wins_over_google_product_category() -> None:
    item = (
        "<item><g:id>1</g:id><title>T</title><g:price>1</g:price>"
        "<g:google_product_category>Home &amp; Garden &gt; Kitchen</g:google_product_category>"
        "<g:product_type>Shop &gt; Pans</g:product_type>"
        "<g:product_type>Other &gt; Path</g:product_type></item>"
    )
    [product] = read_all(rss(item))
    assert product.category == ["Shop", "Pans"]
    assert product.tags["google_product_category"] == "Home & Garden > Kitchen"
    assert product.tags["product_type"] == "Shop > Pans,Other > Path"


def test_atom_without_namespace_is_read_too() -> None:
    data = b"<feed><entry><id>E1</id><title>T</title><price>3 USD</price><link href='https://x/1'/></entry></feed>"
    [product] = read_all(data)
    assert (product.id, product.url, product.price) == ("E1", "https://x/1", 3.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.99 USD", (12.99, "USD")),
        ("12,99 EUR", (12.99, "EUR")),
        ("1 299.00 UAH", (1299.0, "UAH")),
        ("1\u00a0299,50 uah", (1299.5, "UAH")),
        ("12.99", (12.99, "")),
        ("USD 7", (7.0, "USD")),
        ("1,299.00 USD", (1299.0, "USD")),
        ("1.299,00 EUR", (1299.0, "EUR")),
        ("1,299", (1299.0, "")),
        ("0", (0.0, "")),
    ],
)
def test_parse_price(text: str, expected: tuple[float, str]) -> None:
    assert parse_price(text) == expected


@pytest.mark.parametrize("text", ["", "free", "12..99", "1e5", "nan", "12.99 USD EUR", "USD 1 EUR", "12 $$"])
def test_parse_price_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="price is not a number"):
        parse_price(text)


# --- TSV / CSV details ----------------------------------------------------------------------


def test_tsv_row_errors_do_not_stop_the_feed() -> None:
    data = (
        b"id\ttitle\tprice\tcolor\n"
        b"1\tKettle\t9.99\tred\n"
        b"2\tToo many\t1.00\tred\textra\n"
        b"3\t\t1.00\n"
        b"4\tShort row\t4.00\n"
        b"5\tTrailing empty cell\t5.00\t\t\n"
    )
    records = read_all(data, "gmc_tsv")
    assert [(r.index, r.item_id) for r in records if isinstance(r, FeedError)] == [(1, "2"), (2, "3")]
    assert records[1].reason == "the row has 5 cells but the header only 4"
    assert [r.id for r in records if isinstance(r, Product)] == ["1", "4", "5"]
    assert records[0].tags == {"color": "red"}


def test_tsv_header_without_required_columns_is_one_feed_error() -> None:
    records = read_all(b"id\ttitle\tlink\n1\tKettle\thttps://x\n", "gmc_tsv")
    assert records == [FeedError(-1, None, "the header row lacks the required column(s): price")]


def test_tsv_keeps_inch_marks_and_csv_unquotes() -> None:
    [tsv] = read_all(b'id\ttitle\tprice\n1\t22" TV\t100\n')
    [csv] = read_all(b'id,title,price\n1,"Pan, ""big""",100\n')
    assert (tsv.name, csv.name) == ('22" TV', 'Pan, "big"')


def test_text_feed_that_is_not_utf8_ends_with_one_feed_error() -> None:
    records = read_all("id\ttitle\tprice\n1\tCafé\t1\n".encode("latin-1"), "gmc_tsv")
    assert records[-1].index == -1 and "not valid UTF-8" in records[-1].reason


def test_text_reader_leaves_the_callers_stream_open() -> None:
    stream = io.BytesIO((FIXTURES / "catalog.tsv").read_bytes())
    assert list(READERS["gmc_tsv"](stream)) == CATALOG
    gc.collect()
    assert not stream.closed


# --- YML details ----------------------------------------------------------------------------


def test_yml_offer_mapping_and_errors() -> None:
    offers = (
        '<offer id="A" available="false" group_id="77"><name>Jacket</name><price>10</price>'
        "<categoryId>3</categoryId><oldprice>12</oldprice><vendorCode>J-1</vendorCode>"
        '<param name="Weight" unit="kg">1.5</param></offer>'
        '<offer type="vendor.model" id="B"><typePrefix>Phone</typePrefix><vendor>Acme</vendor>'
        "<model>X1</model><price>100</price><categoryId>404</categoryId></offer>"
        "<offer><name>No id</name><price>1</price></offer>"
        '<offer id="D"><name>Price text</name><price>n/a</price></offer>'
        '<offer id="E"><price>1</price></offer>'
        '<offer id="F"><name>No price</name></offer>'
    )
    categories = '<category id="1">Clothes</category><category id="3" parentId="1">Jackets</category>'
    records = read_all(yml(offers, categories))
    assert records[0] == Product(
        id="A",
        name="Jacket",
        price=10.0,
        category=["Clothes", "Jackets"],
        in_stock=False,
        tags={
            "group_id": "77",
            "oldprice": "12",
            "vendorcode": "J-1",
            "weight": "1.5 kg",
            "product_type": "Clothes > Jackets",
        },
    )
    assert records[1] == Product(
        id="B",
        name="Phone Acme X1",
        brand="Acme",
        price=100.0,
        category=[],
        tags={"type": "vendor.model", "typeprefix": "Phone", "model": "X1"},
    )
    assert records[2:] == [
        FeedError(2, None, "missing id (the offer has no id attribute)"),
        FeedError(3, "D", "price is not a number: 'n/a'"),
        FeedError(4, "E", "missing or empty name"),
        FeedError(5, "F", "missing price"),
    ]


def test_yml_category_cycle_does_not_hang() -> None:
    categories = '<category id="1" parentId="2">A</category><category id="2" parentId="1">B</category>'
    [product] = read_all(
        yml('<offer id="x"><name>N</name><price>1</price><categoryId>1</categoryId></offer>', categories)
    )
    assert product.category == ["B", "A"]  # the walk stops where the cycle closes


def test_yml_in_windows_1251_as_real_russian_feeds_often_are() -> None:
    data = yml(
        '<offer id="1"><name>Чайник</name><price>990</price><currencyId>RUR</currencyId></offer>',
        prolog='<?xml version="1.0" encoding="windows-1251"?><!DOCTYPE yml_catalog SYSTEM "shops.dtd">',
    )
    [product] = read_all(data.decode().encode("cp1251"))
    assert (product.name, product.tags["currency"]) == ("Чайник", "RUR")


# --- hostile XML ----------------------------------------------------------------------------

BILLION_LAUGHS = "".join(
    ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
)

ROOTS = {
    "gmc_xml": (
        "rss",
        f'<rss version="2.0" {G}><channel><item><g:id>1</g:id><title>{{}}</title>'
        "<g:price>1</g:price></item></channel></rss>",
    ),
    "gmc_atom": (
        "feed",
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>{}</title>'
        "<price>1</price></entry></feed>",
    ),
    "yml": (
        "yml_catalog",
        '<yml_catalog><shop><offers><offer id="1"><name>{}</name><price>1</price>'
        "</offer></offers></shop></yml_catalog>",
    ),
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to fetch fails the test instead of hanging or reaching out."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(urllib.request, "urlopen", forbidden)


def hostile(fmt: str, subset: str, reference: str) -> bytes:
    root, body = ROOTS[fmt]
    return f'<?xml version="1.0"?>\n<!DOCTYPE {root} [{subset}]>\n{body.format(reference)}'.encode()


def refusal(data: bytes, fmt: str | None) -> FeedRefused:
    started = time.perf_counter()
    with pytest.raises(FeedRefused) as refused:
        read_all(data, fmt)
    assert time.perf_counter() - started < 1.0, "the refusal must be immediate"
    assert str(refused.value).startswith("feed refused:")
    return refused.value


@pytest.mark.parametrize("detect", [True, False], ids=["detected", "explicit"])
@pytest.mark.parametrize("fmt", ROOTS)
def test_billion_laughs_is_refused_before_expansion(fmt: str, detect: bool) -> None:
    tracemalloc.start()
    try:
        refusal(hostile(fmt, BILLION_LAUGHS, "&lol9;"), None if detect else fmt)
        assert tracemalloc.get_traced_memory()[1] < 5_000_000
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ROOTS)
@pytest.mark.parametrize(
    "entity",
    [
        '<!ENTITY x SYSTEM "file:///etc/passwd">',
        '<!ENTITY x SYSTEM "http://127.0.0.1:9/x">',
        '<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;',
    ],
    ids=["file", "http", "parameter-entity"],
)
def test_external_entities_are_refused_without_reading_or_fetching(
    fmt: str, entity: str, no_network: None
) -> None:
    error = refusal(hostile(fmt, entity, "&x;"), None)
    assert "root:" not in str(error)


def test_gmc_refuses_any_doctype(no_network: None) -> None:
    data = f'<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/rss.dtd"><rss {G}><channel/></rss>'.encode()
    assert "DTD" in str(refusal(data, None))


def test_yml_accepts_the_bare_shops_dtd_doctype_without_fetching_it(no_network: None) -> None:
    offer = '<offer id="1"><name>N</name><price>1</price></offer>'
    for doctype in (
        '<!DOCTYPE yml_catalog SYSTEM "shops.dtd">',
        YML_DOCTYPE,
    ):
        [product] = read_all(yml(offer, prolog=doctype))
        assert product.id == "1"


def test_yml_refuses_a_doctype_with_an_internal_subset_even_an_empty_one() -> None:
    data = yml(
        '<offer id="1"><name>N</name><price>1</price></offer>',
        prolog='<!DOCTYPE yml_catalog SYSTEM "shops.dtd" []>',
    )
    assert "internal subset" in str(refusal(data, "yml"))


@pytest.mark.parametrize(
    "data",
    [
        rss("<item><g:id>1</g:id><title>&x;</title><g:price>1</g:price></item>"),
        # with an (unloaded) external DTD, expat would let &x; pass as "maybe declared there"
        yml('<offer id="1"><name>&x;</name><price>1</price></offer>', prolog=YML_DOCTYPE),
    ],
    ids=["rss", "yml-with-doctype"],
)
def test_an_undeclared_entity_is_a_malformed_feed_not_a_lookup(data: bytes, no_network: None) -> None:
    [error] = read_all(data)
    assert error.index == -1 and "undefined entity" in error.reason


# --- format detection -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b'<rss version="2.0">', "gmc_xml"),
        (b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<rss>', "gmc_xml"),
        (b'\n  <!-- exported 2026-01-01 -->\n<?xml-stylesheet href="a.xsl"?>\r\n<rss>', "gmc_xml"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">', "gmc_atom"),
        (b'<?xml version="1.0"?><!DOCTYPE yml_catalog SYSTEM "shops.dtd">\n<yml_catalog date="x">', "yml"),
        (b"<yml_catalog>", "yml"),
        (b"<!DOCTYPE rss [<!ENTITY a 'b'>]><rss>", "gmc_xml"),
        (b"id\ttitle\tprice\n1\tA, B\t2\n", "gmc_tsv"),
        (b"\xef\xbb\xbfg:id\tg:title\r\n", "gmc_tsv"),
        (b'id,title,price\n1,"A\tB",2\n', "gmc_csv"),
    ],
)
def test_detect_format(head: bytes, fmt: str) -> None:
    assert detect_format(head) == fmt


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"", "the feed is empty"),
        (b"  \n", "the feed is empty"),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway", "XML root <html> is none of"),
        (b"<catalog><product/>", "XML root <catalog> is none of"),
        (b"just some text\n", "tab/comma separated header line"),
    ],
)
def test_detect_format_explains_what_it_could_not_recognise(head: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        detect_format(head)


def test_read_feed_wants_a_binary_stream() -> None:
    with pytest.raises(TypeError, match="binary mode"):
        read_feed(io.StringIO("<rss/>"))  # type: ignore[arg-type]


def test_read_feed_names_the_known_formats_for_an_unknown_one() -> None:
    with pytest.raises(ValueError, match="unknown feed format 'xlsx'; known: gmc_atom, gmc_csv"):
        read_feed(io.BytesIO(b""), "xlsx")


# --- streaming ------------------------------------------------------------------------------


class GeneratedStream(io.RawIOBase):
    """A non-seekable stream produced on the fly, counting what the reader has pulled."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.bytes_read += size
        return size


def generated_feed(fmt: str, items: int) -> Iterator[bytes]:
    if fmt == "gmc_xml":
        yield f'<?xml version="1.0"?><rss version="2.0" {G}><channel><title>big</title>'.encode()
        for n in range(items):
            yield (
                f"<item><g:id>{n}</g:id><title>Item {n}</title><g:price>{n}.50 USD</g:price>"
                f"<g:image_link>https://x/{n}.jpg</g:image_link><g:color>red</g:color></item>\n"
            ).encode()
        yield b"</channel></rss>"
    elif fmt == "gmc_tsv":
        yield b"id\ttitle\tprice\timage_link\tcolor\n"
        for n in range(items):
            yield f"{n}\tItem {n}\t{n}.50 USD\thttps://x/{n}.jpg\tred\n".encode()
    else:
        yield b'<!DOCTYPE yml_catalog SYSTEM "shops.dtd"><yml_catalog><shop><categories>'
        yield b'<category id="1">All</category></categories><offers>'
        for n in range(items):
            yield (
                f'<offer id="{n}"><name>Item {n}</name><price>{n}.50</price><currencyId>USD</currencyId>'
                f'<picture>https://x/{n}.jpg</picture><param name="color">red</param></offer>\n'
            ).encode()
        yield b"</offers></shop></yml_catalog>"


@pytest.mark.parametrize("fmt", ["gmc_xml", "gmc_tsv", "yml"])
def test_first_product_arrives_before_the_feed_is_read(fmt: str) -> None:
    stream = GeneratedStream(generated_feed(fmt, 100_000))
    first = next(read_feed(io.BufferedReader(stream)))
    assert first.id == "0"
    assert stream.bytes_read < 100_000, "the reader pulled far more than it needed"


@pytest.mark.parametrize("fmt", ["gmc_xml", "gmc_tsv", "yml"])
def test_memory_stays_flat_however_long_the_feed(fmt: str) -> None:
    items = 20_000  # a retained tree would cost tens of MB at this size
    stream = io.BufferedReader(GeneratedStream(generated_feed(fmt, items)))
    tracemalloc.start()
    try:
        count = sum(1 for record in read_feed(stream) if isinstance(record, Product))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == items
    assert peak < 1_000_000, f"peak {peak / 1e6:.1f} MB for {items} items"


@pytest.mark.slow
def test_a_million_item_feed_parses_in_constant_memory() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stream = io.BufferedReader(GeneratedStream(generated_feed("gmc_xml", 1_000_000)))
    assert sum(1 for record in read_feed(stream) if isinstance(record, Product)) == 1_000_000
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024


# --- plugins --------------------------------------------------------------------------------


def fake_reader(stream: io.BufferedIOBase) -> Iterator[Product]:
    yield Product(id=stream.read().decode().strip(), name="from plugin")


class FakeEntryPoint:
    def __init__(self, name: str, loaded: object) -> None:
        self.name = name
        self._loaded = loaded

    def load(self) -> object:
        if isinstance(self._loaded, Exception):
            raise self._loaded
        return self._loaded


def test_builtins_are_registered() -> None:
    assert set(READERS) >= {"gmc_xml", "gmc_atom", "gmc_tsv", "gmc_csv", "yml"}


def test_plugins_add_formats_but_never_replace_builtins(caplog: pytest.LogCaptureFixture) -> None:
    plugins = [
        FakeEntryPoint("ndjson", fake_reader),
        FakeEntryPoint("yml", fake_reader),
        FakeEntryPoint("broken", ImportError("no module named shopify_sdk")),
        FakeEntryPoint("not_callable", 42),
        FakeEntryPoint("ndjson", print),
    ]
    with caplog.at_level(logging.WARNING, logger="recoms.catalog"):
        readers = merge_readers(builtin_readers(), plugins)  # type: ignore[arg-type]
    assert readers == {**builtin_readers(), "ndjson": fake_reader}
    assert list(readers)[:5] == list(builtin_readers())
    logged = caplog.text
    assert "'yml' is already registered" in logged
    assert "failed to load" in logged and "shopify_sdk" in logged
    assert "is not callable" in logged
    assert "'ndjson' is already registered" in logged


def test_real_entry_points_load_through_the_group(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    def entry_points(*, group: str) -> list[EntryPoint]:
        asked.append(group)
        return [EntryPoint(name="json_lines", value="json:loads", group=group)]

    monkeypatch.setattr(catalog, "entry_points", entry_points)
    readers = load_readers()
    assert asked == [PLUGIN_GROUP] == ["recoms.feed_readers"]
    assert readers["json_lines"] is json.loads


def test_read_feed_dispatches_to_a_plugin_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(READERS, "ndjson", fake_reader)
    assert read_all(b"P-1\n", "ndjson") == [Product(id="P-1", name="from plugin")]


def test_detection_survives_short_reads() -> None:
    data = (FIXTURES / "catalog.yml.xml").read_bytes()
    trickle = GeneratedStream(data[i : i + 7] for i in range(0, len(data), 7))  # 7 bytes per read()
    assert list(read_feed(trickle)) == CATALOG  # type: ignore[arg-type]
