"""Google Merchant Center XML feeds (RSS 2.0 and Atom), plus the safe streaming XML core they share
with the YML reader.

Field mapping (each item's child elements, by clean name — `g:title` and `title` are both `title`;
when both occur the `g:` one wins):

    id -> id                      title -> name                 description (Atom: summary) -> descr
    link (Atom: <link href>) -> url   price -> price (+ tag `currency`)   brand -> brand
    availability -> in_stock ("in stock", "preorder" -> True; "out of stock", "backorder" -> False;
                               missing -> True; anything else is an item error)
    product_type (first, split at ">") or else google_product_category -> category

Everything else, `product_type` and `google_product_category` included, becomes a tag under its
clean name. A field that occurs several times (`additional_image_link`) is joined with ",". Nested
elements are flattened one level: `<g:shipping><g:country>US</g:country>` -> tag `shipping_country`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, BinaryIO
from xml.etree.ElementTree import ParseError, TreeBuilder

from defusedxml.common import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import DefusedXMLParser, iterparse

from recoms.catalog import FeedError, FeedRecord, FeedRefused, parse_price
from recoms.domain.product import Product, split_category, tag_name

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

G_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"

# Fields that fill Product attributes rather than tags.
_MAIN_FIELDS = frozenset({"id", "title", "description", "link", "price", "brand", "availability"})
_AVAILABILITY = {
    "in stock": True,
    "available for order": True,  # a retired GMC value, still found in old feeds
    "preorder": True,
    "pre order": True,
    "out of stock": False,
    "backorder": False,
    "back order": False,
}

# Element names repeat on every item; cleaning them once keeps the hot loop cheap. Bounded, because
# the names come from the feed.
clean_name = lru_cache(maxsize=4096)(tag_name)


# --- safe streaming core --------------------------------------------------------------------


def iter_elements(
    stream: BinaryIO, wanted: Mapping[str, str], *, allow_bare_doctype: bool = False
) -> Iterator[Element | FeedError]:
    """Yield each complete element whose tag is a key of `wanted` and whose parent's tag is the value.

    Each yielded element is cleared and detached from its parent once the consumer asks for the
    next one, so memory stays flat however many items the feed holds. A document that stops being
    well-formed ends the stream with `FeedError(-1, ...)`; hostile markup raises `FeedRefused`
    before any entity is expanded or anything is fetched. `allow_bare_doctype` admits a DOCTYPE
    without an internal subset (YML's `<!DOCTYPE yml_catalog SYSTEM "shops.dtd">`): its external
    DTD is never loaded, and entity declarations could only come from the refused subset.
    """
    parser = DefusedXMLParser(
        target=TreeBuilder(),
        forbid_dtd=not allow_bare_doctype,
        forbid_entities=True,
        forbid_external=True,
    )
    if allow_bare_doctype:
        parser.parser.StartDoctypeDeclHandler = _refuse_internal_subset
    open_elements: list[Element] = []
    try:
        for event, element in iterparse(stream, events=("start", "end"), parser=parser):
            if event == "start":
                open_elements.append(element)
                continue
            open_elements.pop()
            parent = open_elements[-1] if open_elements else None
            if parent is not None and wanted.get(element.tag) == parent.tag:
                yield element
                element.clear()
                parent.remove(element)
    except ParseError as exc:
        yield FeedError(-1, None, f"malformed XML: {exc}")
    except DefusedXmlException as exc:
        raise FeedRefused(_refusal_reason(exc)) from None


def _refuse_internal_subset(
    name: str, sysid: str | None, pubid: str | None, has_internal_subset: int
) -> None:
    if has_internal_subset:
        raise FeedRefused(
            f"feed refused: <!DOCTYPE {name} [...]> has an internal subset, which can declare "
            "self-expanding or external entities; only a bare DOCTYPE such as "
            '<!DOCTYPE yml_catalog SYSTEM "shops.dtd"> is accepted'
        )


def _refusal_reason(exc: DefusedXmlException) -> str:
    if isinstance(exc, DTDForbidden):
        return (
            f"feed refused: it declares a DTD (<!DOCTYPE {exc.name}>); DTDs are not accepted in this "
            "format because they enable entity-expansion and external-entity attacks"
        )
    if isinstance(exc, EntitiesForbidden):
        return f"feed refused: it declares the entity {exc.name!r}; entity declarations are not accepted"
    return f"feed refused: it references an external resource ({exc}); nothing is ever fetched"


# --- GMC items ------------------------------------------------------------------------------


def read_rss(stream: BinaryIO) -> Iterator[FeedRecord]:
    """`<rss><channel><item>…` with GMC's `g:` namespace."""
    yield from _read_items(stream, {"item": "channel"})


def read_atom(stream: BinaryIO) -> Iterator[FeedRecord]:
    """`<feed xmlns="http://www.w3.org/2005/Atom"><entry>…` (a namespace-less Atom is tolerated)."""
    yield from _read_items(stream, {f"{{{ATOM_NS}}}entry": f"{{{ATOM_NS}}}feed", "entry": "feed"})


def _read_items(stream: BinaryIO, wanted: Mapping[str, str]) -> Iterator[FeedRecord]:
    for index, element in enumerate(iter_elements(stream, wanted)):
        if isinstance(element, FeedError):
            yield element
            return
        yield gmc_product(index, item_fields(element))


def item_fields(item: Element) -> dict[str, list[str]]:
    """The non-empty values of an item's children by clean name, `g:` ones winning over plain ones."""
    google: dict[str, list[str]] = {}
    plain: dict[str, list[str]] = {}
    for child in item:
        fields = google if child.tag.startswith(f"{{{G_NS}}}") else plain
        name = clean_name(child.tag)
        if len(child):
            for sub in child:
                add_field(fields, f"{name}_{clean_name(sub.tag)}", sub.text)
        else:
            add_field(fields, name, child.text or child.get("href"))  # Atom: <link href="…"/>
    if "description" not in plain and "summary" in plain:
        plain["description"] = plain.pop("summary")
    return plain | google


def add_field(fields: dict[str, list[str]], name: str, value: str | None) -> None:
    if value and (value := value.strip()):
        fields.setdefault(name, []).append(value)


def gmc_product(index: int, fields: Mapping[str, list[str]]) -> FeedRecord:
    """A Product from GMC fields (XML children or TSV columns), or the reason the item is unusable."""

    def first(name: str) -> str:
        values = fields.get(name)
        return values[0] if values else ""

    item_id = first("id")
    if not item_id:
        return FeedError(index, None, "missing id")
    name = first("title")
    if not name:
        return FeedError(index, item_id, "missing or empty title")
    if not (raw_price := first("price")):
        return FeedError(index, item_id, "missing price")
    try:
        price, currency = parse_price(raw_price)
    except ValueError as exc:
        return FeedError(index, item_id, str(exc))
    availability = first("availability")
    in_stock = _AVAILABILITY.get(_normalized(availability)) if availability else True
    if in_stock is None:
        return FeedError(index, item_id, f"unknown availability: {availability!r}")

    tags = {key: ",".join(values) for key, values in fields.items() if key not in _MAIN_FIELDS}
    if currency:
        tags.setdefault("currency", currency)
    return Product(
        id=item_id,
        name=name,
        url=first("link"),
        price=price,
        descr=first("description"),
        brand=first("brand"),
        category=split_category(first("product_type")) or split_category(first("google_product_category")),
        in_stock=in_stock,
        tags=tags,
    )


def _normalized(availability: str) -> str:
    """'In_Stock' / 'in-stock' / 'in  stock' -> 'in stock'."""
    return " ".join(availability.lower().replace("_", " ").replace("-", " ").split())
