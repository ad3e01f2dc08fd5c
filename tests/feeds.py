"""Hand-made feeds for tests: a list of product dicts as a Google Merchant RSS document."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape


def gmc_xml(products: list[dict[str, Any]]) -> str:
    items = []
    for p in products:
        fields = [
            f"<g:id>{escape(p['id'])}</g:id>",
            f"<title>{escape(p.get('name', 'Product ' + p['id']))}</title>",
            f"<description>{escape(p.get('descr', ''))}</description>",
            f"<link>{escape(p.get('url', 'https://shop.test/p/' + p['id']))}</link>",
            f"<g:price>{p.get('price', 10.0)} USD</g:price>",
            f"<g:availability>{'in stock' if p.get('in_stock', True) else 'out of stock'}</g:availability>",
            f"<g:brand>{escape(p.get('brand', 'Acme'))}</g:brand>",
            f"<g:product_type>{escape(p.get('category', 'Misc'))}</g:product_type>",
        ]
        fields += [f"<g:{k}>{escape(str(v))}</g:{k}>" for k, v in p.get("tags", {}).items()]
        items.append("<item>" + "".join(fields) + "</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">'
        "<channel><title>t</title><link>https://shop.test</link><description>d</description>"
        + "".join(items) + "</channel></rss>"
    )
