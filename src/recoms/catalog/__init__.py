"""Product-feed import: streaming, safe readers that turn a shop's feed into `Product` records.

Every reader takes a binary stream and yields `Product` or `FeedError` (one bad item must not sink
the whole import), keeps memory bounded whatever the feed size, and raises `FeedRefused` for XML
that tries entity expansion or external fetches. Formats: GMC RSS/Atom (`gmc_xml`), GMC TSV/CSV
(`gmc_tsv`), Yandex YML (`yml`); more come from the `recoms.feed_readers` entry-point group.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import BinaryIO

from recoms.domain.product import Product

__all__ = [
    "PLUGIN_GROUP",
    "READERS",
    "FeedError",
    "FeedRecord",
    "FeedRefused",
    "Reader",
    "builtin_readers",
    "detect_format",
    "load_readers",
    "merge_readers",
    "parse_price",
    "read_feed",
]

log = logging.getLogger(__name__)

PLUGIN_GROUP = "recoms.feed_readers"
# Enough for an XML declaration, a comment or two and a DOCTYPE, or a TSV/CSV header line.
DETECT_BYTES = 8192


class FeedRefused(ValueError):
    """The feed is hostile (DTD, entity declarations, external references) and was not parsed."""

    @property
    def reason(self) -> str:
        return str(self)


@dataclass(slots=True)
class FeedError:
    """One item that could not be imported; `index` is its 0-based position, -1 for the whole feed."""

    index: int
    item_id: str | None
    reason: str


FeedRecord = Product | FeedError
Reader = Callable[[BinaryIO], Iterator[FeedRecord]]


# --- prices ---------------------------------------------------------------------------------

_PRICE = re.compile(
    r"(?:(?P<pre>[A-Za-z]{3})\s*)?"  # "USD 12.99"
    r"(?P<amount>[-+]?\d[\d\s.,'\u00a0\u202f]*?)"
    r"\s*(?P<post>[A-Za-z]{3})?"  # "12.99 USD"
)
_GROUPING = re.compile(r"[\s'\u00a0\u202f]")
MAX_PRICE = 1e12
# (pattern of the unsigned amount, thousands separator to drop, decimal mark to turn into '.')
_AMOUNT_SHAPES = (
    (re.compile(r"\d+(?:\.\d+)?"), "", "."),  # 1299 / 12.99 / 1.299 (a lone '.' is decimal)
    (re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"), ",", "."),  # 1,299 / 1,299.00
    (re.compile(r"\d+,\d+"), "", ","),  # 12,99
    (re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?"), ".", ","),  # 1.299,00
)


def parse_price(text: str) -> tuple[float, str]:
    """'1 299,00 EUR' -> (1299.0, 'EUR'); raises ValueError with a reason fit for a FeedError.

    Accepts a 3-letter currency before or after the amount, spaces or apostrophes as digit
    grouping, and either '.' or ',' as the decimal mark: a ',' followed by exactly three digits
    groups thousands ('1,299' -> 1299.0), a lone '.' is always decimal ('1.299' -> 1.299).
    """
    match = _PRICE.fullmatch(text.strip())
    if not match or (match["pre"] and match["post"]):
        raise ValueError(f"price is not a number: {text!r}")
    amount = _GROUPING.sub("", match["amount"])
    if amount.startswith("-"):
        raise ValueError(f"price is negative: {text!r}")
    digits = amount.removeprefix("+")
    for shape, thousands, decimal in _AMOUNT_SHAPES:
        if shape.fullmatch(digits):
            if thousands:
                digits = digits.replace(thousands, "")
            price = float(digits.replace(decimal, "."))
            if price > MAX_PRICE:  # hundreds of digits: a broken feed, not a price (and no inf downstream)
                raise ValueError(f"price is too large: {text[:40]!r}")
            return price, (match["pre"] or match["post"] or "").upper()
    raise ValueError(f"price is not a number: {text[:40]!r}")


# --- format detection -----------------------------------------------------------------------

_XML_ROOTS = {"rss": "gmc_xml", "feed": "gmc_atom", "yml_catalog": "yml"}
_BOMS = (b"\xef\xbb\xbf",)
_PROLOG_SKIP = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_XML_NAME = re.compile(rb"<!DOCTYPE\s+([^\s\[>]+)|<([^\s/>!?]+)", re.IGNORECASE)


def detect_format(head: bytes) -> str:
    """Name the built-in format of a feed from its first bytes (see DETECT_BYTES).

    XML is told by its root element, or by the DOCTYPE name when one precedes it, so a hostile
    DOCTYPE is still routed to a reader that refuses it. Text is TSV when the header has a tab.
    """
    if isinstance(head, str):
        raise TypeError("feeds are read as bytes: open the file in binary mode ('rb')")
    for bom in _BOMS:
        head = head.removeprefix(bom)
    start = 0
    while (skip := _PROLOG_SKIP.match(head, start)) and skip.end() > start:
        start = skip.end()
    body = head[start:]
    if not body:
        raise ValueError("cannot detect the feed format: the feed is empty")
    if body.startswith(b"<"):
        name = _XML_NAME.match(body)
        root = (name[1] or name[2]).decode("ascii", "replace") if name else ""
        local = root.rsplit(":", 1)[-1]
        if local in _XML_ROOTS:
            return _XML_ROOTS[local]
        raise ValueError(
            f"cannot detect the feed format: XML root <{root}> is none of "
            f"<rss> (GMC RSS), <feed> (GMC Atom) or <yml_catalog> (YML)"
        )
    first_line = body.split(b"\n", 1)[0]
    if b"\t" in first_line:
        return "gmc_tsv"
    if b"," in first_line:
        return "gmc_csv"
    preview = first_line[:60].decode("utf-8", "replace")
    raise ValueError(
        f"cannot detect the feed format from {preview!r}: expected XML (<rss>, <feed>, <yml_catalog>) "
        "or a tab/comma separated header line; pass fmt= explicitly"
    )


class _Replay(io.RawIOBase):
    """The peeked head followed by the rest of the stream, so detection loses no bytes.

    Closing it does not close the wrapped stream: that belongs to the caller.
    """

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def sniff(stream: BinaryIO) -> tuple[str, BinaryIO]:
    """The format of a feed from its first bytes, and a stream that still starts at the beginning."""
    head = _read_head(stream)
    return detect_format(head), io.BufferedReader(_Replay(head, stream))  # type: ignore[return-value]


def read_feed(stream: BinaryIO, fmt: str | None = None) -> Iterator[FeedRecord]:
    """Stream the records of a feed; the format is detected from its first bytes unless given."""
    if fmt is None:
        fmt, stream = sniff(stream)
    try:
        reader = READERS[fmt]
    except KeyError:
        raise ValueError(f"unknown feed format {fmt!r}; known: {', '.join(sorted(READERS))}") from None
    return reader(stream)


def _read_head(stream: BinaryIO) -> bytes:
    """Up to DETECT_BYTES, even from streams (sockets, HTTP bodies) that return short reads."""
    chunks: list[bytes] = []
    size = 0
    while size < DETECT_BYTES and (chunk := stream.read(DETECT_BYTES - size)):
        if isinstance(chunk, str):
            return chunk  # type: ignore[return-value]  # detect_format explains the text-mode mistake
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


# --- reader registry ------------------------------------------------------------------------


def builtin_readers() -> dict[str, Reader]:
    # Imported here: the reader modules import FeedError & co. from this package.
    from recoms.catalog import gmc_tsv, gmc_xml, yml

    return {
        "gmc_xml": gmc_xml.read_rss,
        "gmc_atom": gmc_xml.read_atom,
        "gmc_tsv": gmc_tsv.read_tsv,
        "gmc_csv": gmc_tsv.read_csv,
        "yml": yml.read_yml,
    }


def merge_readers(builtins: Mapping[str, Reader], plugins: Iterable[EntryPoint]) -> dict[str, Reader]:
    """Built-ins first; a plugin may add a new format but never replace one already registered.

    A plugin that fails to load is logged and skipped, so one broken package cannot stop imports.
    """
    readers = dict(builtins)
    for plugin in plugins:
        if plugin.name in readers:
            log.warning("feed reader plugin %r ignored: format %r is already registered", plugin, plugin.name)
            continue
        try:
            reader = plugin.load()
        except Exception:
            log.exception("feed reader plugin %r failed to load", plugin)
            continue
        if not callable(reader):
            log.warning("feed reader plugin %r ignored: %r is not callable", plugin, reader)
            continue
        readers[plugin.name] = reader
    return readers


def load_readers() -> dict[str, Reader]:
    """Built-in readers plus those installed packages declare in the `recoms.feed_readers` group."""
    return merge_readers(builtin_readers(), entry_points(group=PLUGIN_GROUP))


READERS: dict[str, Reader] = load_readers()
