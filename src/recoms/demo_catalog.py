"""The demo shop's catalog: a category tree of invented products, their prices, stock and complements.

`build_catalog()` draws it from a `random.Random`; `write_feed()` writes it as a Google Merchant Center
RSS 2.0 feed, which `recoms demo` loads through the feed reader like any shop's feed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from recoms import demo_catalog_words as words

SHOP_URL = "https://demo.recoms.local"
MIN_PRODUCTS_PER_LEAF = 8
MIN_IN_STOCK_PER_LEAF = 5
OUT_OF_STOCK_SHARE = 0.08
ZIPF_EXPONENT = 1.3  # popularity within a leaf: rank ** -ZIPF_EXPONENT


@dataclass(slots=True, eq=False)
class DemoProduct:
    id: str
    name: str
    path: tuple[str, str, str]  # top, mid, leaf
    brand: str
    price: float  # g:price
    paid_price: float  # what a buyer pays: the sale price when there is one
    popularity: float
    log_relative_price: float  # log(price / median price of its leaf)
    description: str
    attributes: list[tuple[str, str]]  # feed elements beyond the mandatory ones
    in_stock: bool = True
    complements: list[DemoProduct] = field(default_factory=list)

    @property
    def leaf(self) -> str:
        return self.path[2]

    @property
    def is_consumable(self) -> bool:
        return words.LEAF_SPECS[self.leaf].repurchase_days > 0


@dataclass
class Catalog:
    products: list[DemoProduct]
    by_id: dict[str, DemoProduct]
    by_leaf: dict[str, list[DemoProduct]]
    leaf_traffic: dict[str, float]  # how often shoppers look at a leaf, before their taste


def build_catalog(rng: random.Random, n_products: int) -> Catalog:
    if n_products < MIN_PRODUCTS_PER_LEAF * len(words.LEAF_SPECS):
        raise ValueError(f"n_products must be at least {MIN_PRODUCTS_PER_LEAF * len(words.LEAF_SPECS)}")
    brand_price_levels = {(top, brand): rng.lognormvariate(0, 0.25)
                          for top, brands in words.BRANDS.items() for brand in brands}
    used_names: set[str] = set()
    by_leaf = {
        leaf: [make_product(rng, leaf, brand_price_levels, used_names, rank)
               for rank in rng.sample(range(1, count + 1), count)]
        for leaf, count in split_across_leaves(rng, n_products).items()
    }
    products = [product for leaf_products in by_leaf.values() for product in leaf_products]
    rng.shuffle(products)  # ids do not follow categories
    for number, product in enumerate(products, start=10001):
        product.id = f"P{number}"
    for leaf_products in by_leaf.values():
        mark_out_of_stock(rng, leaf_products)
    for leaf, complement_leaves in words.COMPLEMENT_LEAVES.items():
        for product in by_leaf[leaf]:
            product.complements = [pick_complement(rng, by_leaf[other]) for other in complement_leaves]
    leaf_traffic = {leaf: traffic_weight(leaf) * rng.lognormvariate(0, 0.4) for leaf in words.LEAF_SPECS}
    return Catalog(products, {product.id: product for product in products}, by_leaf, leaf_traffic)


def split_across_leaves(rng: random.Random, n_products: int) -> dict[str, int]:
    """Uneven assortments: every leaf gets the minimum, the rest goes by a random weight per leaf."""
    counts = dict.fromkeys(words.LEAF_SPECS, MIN_PRODUCTS_PER_LEAF)
    weights = [rng.uniform(0.5, 1.5) for _ in counts]
    for leaf in rng.choices(list(counts), weights=weights, k=n_products - sum(counts.values())):
        counts[leaf] += 1
    return counts


def make_product(rng: random.Random, leaf: str, brand_price_levels: dict[tuple[str, str], float],
                 used_names: set[str], popularity_rank: int) -> DemoProduct:
    (top, mid, _), spec = words.LEAF_PATHS[leaf], words.LEAF_SPECS[leaf]
    brand, adjective = rng.choice(words.BRANDS[top]), rng.choice(words.ADJECTIVES[top])
    packs = words.PACK_SIZES.get(mid, words.DEFAULT_PACK_SIZES) if spec.repurchase_days else None
    name = unique_name(rng, f"{brand} {adjective} {spec.noun}", packs, used_names)
    price = shop_price(spec.median_price * brand_price_levels[top, brand] * rng.lognormvariate(0, 0.3))
    attributes, paid_price = discount_attributes(rng, price)
    color = None if spec.kind == "plain" else rng.choice(words.COLORS)
    if color:
        attributes.append(("g:color", color))
    if spec.kind in ("apparel", "footwear"):
        sizes = words.APPAREL_SIZES if spec.kind == "apparel" else words.SHOE_SIZES
        attributes += [("g:size", rng.choice(sizes)), ("g:gender", spec.gender)]
    in_color = f" in {color.lower()}" if color else ""
    description = f"{adjective} {spec.noun.lower()} by {brand}{in_color}. {rng.choice(words.TAGLINES[top])}"
    return DemoProduct(
        id="", name=name, path=words.LEAF_PATHS[leaf], brand=brand, price=price, paid_price=paid_price,
        popularity=popularity_rank**-ZIPF_EXPONENT, log_relative_price=math.log(price / spec.median_price),
        description=description, attributes=attributes,
    )


def unique_name(rng: random.Random, stem: str, pack_sizes: list[str] | None, used_names: set[str]) -> str:
    """Brand + adjective + noun + a model code, or a pack size for consumables."""
    attempt = 0
    while True:
        letter, number = rng.choice(words.MODEL_LETTERS), rng.randint(1, 12)
        models = pack_sizes or [f"{letter}{number}", f"{number * 100}", f"{letter}{letter}-{number + 10}"]
        name = f"{stem} {rng.choice(models)}" + (f" {attempt}" if attempt >= 10 else "")
        if name not in used_names:
            used_names.add(name)
            return name
        attempt += 1


def shop_price(value: float) -> float:
    """Prices end in .99 (or .49 under 20)."""
    if value >= 20:
        return round(round(value) - 0.01, 2)
    return max(0.99, round(round(value * 2) / 2 - 0.01, 2))


def discount_attributes(rng: random.Random, price: float) -> tuple[list[tuple[str, str]], float]:
    """Some products show a crossed-out old price, a few a GMC sale price; returns the paid price too."""
    draw = rng.random()
    if draw < 0.12:
        return [("oldprice", f"{shop_price(price / (1 - rng.uniform(0.1, 0.4))):.2f}")], price
    sale_price = shop_price(price * (1 - rng.uniform(0.1, 0.35)))
    if draw < 0.18 and sale_price < price:
        return [("g:sale_price", f"{sale_price:.2f} USD")], sale_price
    return [], price


def mark_out_of_stock(rng: random.Random, leaf_products: list[DemoProduct]) -> None:
    unavailable = [product for product in leaf_products if rng.random() < OUT_OF_STOCK_SHARE]
    for product in unavailable[: len(leaf_products) - MIN_IN_STOCK_PER_LEAF]:
        product.in_stock = False


def pick_complement(rng: random.Random, candidates: list[DemoProduct]) -> DemoProduct:
    in_stock = [product for product in candidates if product.in_stock]
    return rng.choices(in_stock, weights=[math.sqrt(product.popularity) for product in in_stock])[0]


def traffic_weight(leaf: str) -> float:
    """Shoppers come for main items (a phone); what goes with them (a case) is mostly bought alongside."""
    top, mid, _ = words.LEAF_PATHS[leaf]
    weight = words.TOP_CATEGORY_TRAFFIC[top] / len(words.CATEGORY_TREE[top][mid])
    if leaf in words.COMPLEMENT_LEAVES:
        return weight * 1.5
    return weight * 0.6 if leaf in words.COMPLEMENTS_ONLY else weight


def write_feed(products: list[DemoProduct], path: Path) -> None:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">',
             f"<channel><title>Recoms Demo Shop</title><link>{SHOP_URL}/</link>",
             "<description>A synthetic shop generated by recoms demo</description>"]
    for product in products:
        fields = [
            ("g:id", product.id), ("title", product.name), ("description", product.description),
            ("link", f"{SHOP_URL}/p/{product.id}"), ("g:image_link", f"{SHOP_URL}/img/{product.id}.jpg"),
            ("g:availability", "in stock" if product.in_stock else "out of stock"),
            ("g:price", f"{product.price:.2f} USD"), ("g:brand", product.brand),
            ("g:product_type", " > ".join(product.path)), ("g:condition", "new"), *product.attributes,
        ]
        lines.append("<item>" + "".join(f"<{tag}>{escape(text)}</{tag}>" for tag, text in fields) + "</item>")
    lines += ["</channel>", "</rss>", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
