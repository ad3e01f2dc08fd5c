"""Yandex Market Language (YML) feeds: `<yml_catalog><shop><categories>…<offers><offer>…`.

Field mapping — chosen so that one catalog exported as YML and as GMC gives equal products:

    offer@id -> id                  offer@available ("false"/"0"/"no" -> False; else/missing -> True)
    name -> name (vendor.model offers without one: "typePrefix vendor model")
    url -> url                      price -> price          vendor -> brand
    description -> descr            currencyId -> tag `currency` (GMC gets it from "12.99 USD")
    categoryId -> category, the full path top to leaf from <categories>, and tag `product_type`
                  "Top > … > Leaf" (GMC's own-category field); an unknown id gives an empty path
    picture -> tag `image_link` (the first) and `additional_image_link` (the others, joined ",")
    param name="X" [unit="U"] -> tag tag_name("X") = "value U"
    any other child element (oldprice, vendorCode, barcode, …) or offer attribute (group_id, type,
    …) -> a tag under its clean name; nested elements are flattened one level like GMC's

Categories must precede offers, as the YML schema requires: they are kept (a small id -> path map)
while offers are streamed. Real YML files start with `<!DOCTYPE yml_catalog SYSTEM "shops.dtd">`;
that bare DOCTYPE is accepted and shops.dtd never fetched, any DOCTYPE with an internal subset is
refused (see `gmc_xml.iter_elements`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from recoms.catalog import FeedError, FeedRecord, parse_price
from recoms.catalog.gmc_xml import add_field, clean_name, iter_elements
from recoms.domain.product import Product

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

_WANTED = {"category": "categories", "offer": "offers"}
# Offer children that fill Product attributes or are renamed, so not copied as tags as they are.
_MAPPED_CHILDREN = frozenset(
    {"name", "url", "price", "vendor", "description", "currencyId", "categoryId", "picture", "param"}
)
_MAPPED_ATTRIBUTES = frozenset({"id", "available"})
_NOT_AVAILABLE = frozenset({"false", "0", "no"})


def read_yml(stream: BinaryIO) -> Iterator[FeedRecord]:
    categories = _CategoryTree()
    index = 0
    for element in iter_elements(stream, _WANTED, allow_bare_doctype=True):
        if isinstance(element, FeedError):
            yield element
            return
        if element.tag == "category":
            categories.add(element.get("id", ""), element.get("parentId"), element.text or "")
            continue
        yield _offer_record(index, element, categories.path)
        index += 1


class _CategoryTree:
    """`<category id parentId>` entries, resolved to top-to-leaf paths on demand and memoised."""

    def __init__(self) -> None:
        self._nodes: dict[str, tuple[str, str | None]] = {}
        self._paths: dict[str, tuple[str, ...]] = {}

    def add(self, category_id: str, parent_id: str | None, name: str) -> None:
        parent = parent_id.strip() if parent_id else None
        self._nodes[category_id.strip()] = (name.strip(), parent or None)
        self._paths.clear()

    def path(self, category_id: str) -> list[str]:
        if category_id not in self._paths:
            names: list[str] = []
            seen: set[str] = set()
            node_id: str | None = category_id
            while node_id in self._nodes and node_id not in seen:  # a parent cycle stops the walk
                seen.add(node_id)
                name, node_id = self._nodes[node_id]
                names.append(name)
            self._paths[category_id] = tuple(reversed(names))
        return list(self._paths[category_id])


def _offer_record(index: int, offer: Element, category_path: Callable[[str], list[str]]) -> FeedRecord:
    offer_id = (offer.get("id") or "").strip()
    if not offer_id:
        return FeedError(index, None, "missing id (the offer has no id attribute)")

    fields: dict[str, list[str]] = {}  # by element name, as YML spells it
    params: dict[str, list[str]] = {}  # by clean param name
    for child in offer:
        if child.tag == "param":
            value = (child.text or "").strip()
            unit = (child.get("unit") or "").strip()
            add_field(params, clean_name(child.get("name") or "param"), f"{value} {unit}" if unit else value)
        elif len(child):
            for sub in child:
                add_field(fields, f"{clean_name(child.tag)}_{clean_name(sub.tag)}", sub.text)
        else:
            add_field(fields, child.tag, child.text)

    def first(name: str) -> str:
        values = fields.get(name)
        return values[0] if values else ""

    name = first("name") or " ".join(filter(None, (first("typePrefix"), first("vendor"), first("model"))))
    if not name:
        return FeedError(index, offer_id, "missing or empty name")
    if not (raw_price := first("price")):
        return FeedError(index, offer_id, "missing price")
    try:
        price, price_currency = parse_price(raw_price)
    except ValueError as exc:
        return FeedError(index, offer_id, str(exc))
    category = category_path(first("categoryId"))

    tags: dict[str, str] = {}
    for key, value in offer.attrib.items():
        if key not in _MAPPED_ATTRIBUTES:
            add_tag(tags, clean_name(key), value)
    for key, values in fields.items():
        if key not in _MAPPED_CHILDREN:
            add_tag(tags, clean_name(key), ",".join(values))
    for key, values in params.items():
        add_tag(tags, key, ",".join(values))
    pictures = fields.get("picture", [])
    add_tag(tags, "image_link", ",".join(pictures[:1]))
    add_tag(tags, "additional_image_link", ",".join(pictures[1:]))
    add_tag(tags, "currency", first("currencyId").upper() or price_currency)
    add_tag(tags, "product_type", " > ".join(category))

    return Product(
        id=offer_id,
        name=name,
        url=first("url"),
        price=price,
        descr=first("description"),
        brand=first("vendor"),
        category=category,
        in_stock=(offer.get("available") or "").strip().lower() not in _NOT_AVAILABLE,
        tags=tags,
    )


def add_tag(tags: dict[str, str], name: str, value: str) -> None:
    """Set a non-empty tag unless the feed already gave one of that name (explicit beats derived)."""
    if value and name not in tags:
        tags[name] = value
