"""The demo shop generator: sizes, determinism, well-formed feed and events, and the planted structure
(complements, alternatives, repeat purchases, identity, stock) the recommenders are meant to find."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from recoms.demo_catalog_words import LEAF_SPECS
from recoms.demo_data import DAY_MS, HISTORY_DAYS, DemoShop, generate

NOW_MS = 1_764_000_000_000
SMALL = {"n_products": 900, "n_contacts": 300, "n_events": 15_000}
G = "{http://base.google.com/ns/1.0}"
CONSUMABLE_LEAVES = {leaf for leaf, spec in LEAF_SPECS.items() if spec.repurchase_days}
GENERAL_INFO_KEYS = {"eventName", "datetime", "cookies", "externalCustomerId", "user_email", "user_phone"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> DemoShop:
    return generate(tmp_path_factory.mktemp("small"), seed=11, now_ms=NOW_MS, **SMALL)


@pytest.fixture(scope="module")
def events(shop: DemoShop) -> list[dict[str, Any]]:
    return [json.loads(line) for line in shop.events_path.read_text().splitlines()]


@pytest.fixture(scope="module")
def feed(shop: DemoShop) -> dict[str, dict[str, str]]:
    """Product id -> its feed fields, namespace prefix dropped."""
    root = ET.parse(shop.feed_xml_path).getroot()
    return {item.findtext(f"{G}id"): {child.tag.removeprefix(G): child.text or "" for child in item}
            for item in root.iter("item")}


def leaf_of(product: dict[str, str]) -> str:
    return product["product_type"].split(" > ")[-1]


def orders_of(events: list[dict[str, Any]]) -> list[tuple[str, set[str]]]:
    """(externalCustomerId, product ids) of every order."""
    return [(event["GeneralInfo"]["externalCustomerId"],
             {line["product_id"] for line in event["PurchasedItems"]["Products"]})
            for event in events if "PurchasedItems" in event]


def test_default_sizes_are_big_enough(tmp_path: Path) -> None:
    # Sizes only: how fast it generates is not asserted (a timed test fails on a busy machine).
    shop = generate(tmp_path, now_ms=NOW_MS)

    lines = shop.events_path.read_bytes().splitlines()
    orders = sum(b'"PurchasedItems":' in line for line in lines)
    items = ET.parse(shop.feed_xml_path).getroot().findall("channel/item")
    assert (shop.n_products, len(items)) == (2400, 2400)
    assert shop.n_contacts == 1200
    assert shop.n_events == len(lines) == 60_000
    assert shop.n_orders == orders >= 3000
    assert {path.name for path in tmp_path.iterdir()} == {shop.feed_xml_path.name, shop.events_path.name}


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", seed=3, now_ms=NOW_MS, **SMALL)
    again = generate(tmp_path / "b", seed=3, now_ms=NOW_MS, **SMALL)
    other = generate(tmp_path / "c", seed=4, now_ms=NOW_MS, **SMALL)

    assert first.feed_xml_path.read_bytes() == again.feed_xml_path.read_bytes()
    assert first.events_path.read_bytes() == again.events_path.read_bytes()
    assert first.sample_product_ids == again.sample_product_ids
    assert first.sample_contact == again.sample_contact
    assert first.events_path.read_bytes() != other.events_path.read_bytes()


def test_a_tiny_shop_still_has_every_sample(tmp_path: Path) -> None:
    shop = generate(tmp_path, n_products=600, n_contacts=30, n_events=400, now_ms=NOW_MS)
    assert shop.n_events >= 400 and shop.n_contacts == 30
    assert shop.sample_product_ids.keys() >= {"out_of_stock", "in_cart", "popular", "category"}
    assert shop.sample_contact["externalCustomerId"]


def test_too_small_a_catalog_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_products"):
        generate(tmp_path, n_products=50, now_ms=NOW_MS)


def test_feed_is_a_gmc_rss_feed(shop: DemoShop, feed: dict[str, dict[str, str]]) -> None:
    root = ET.parse(shop.feed_xml_path).getroot()
    assert (root.tag, root.get("version")) == ("rss", "2.0")
    assert all(root.findtext(f"channel/{tag}") for tag in ("title", "link", "description"))
    assert len(feed) == shop.n_products
    for product_id, product in feed.items():
        assert re.fullmatch(r"P\d{5}", product_id)
        assert product["link"] == f"https://demo.recoms.local/p/{product_id}"
        assert product["image_link"] == f"https://demo.recoms.local/img/{product_id}.jpg"
        assert product["availability"] in ("in stock", "out of stock")
        assert re.fullmatch(r"\d+\.\d\d USD", product["price"])
        assert product["title"].startswith(product["brand"]) and product["description"]
        assert len(product["product_type"].split(" > ")) == 3
        if product["product_type"].startswith(("Clothing", "Footwear")):
            assert {"color", "size", "gender"} <= product.keys()
    assert "Health &amp; Beauty &gt; " in shop.feed_xml_path.read_text()


def test_catalog_looks_like_a_shop(feed: dict[str, dict[str, str]]) -> None:
    paths = {tuple(product["product_type"].split(" > ")) for product in feed.values()}
    tops = {path[0] for path in paths}
    brands_by_top = defaultdict(set)
    for product in feed.values():
        brands_by_top[product["product_type"].split(" > ")[0]].add(product["brand"])
    assert len(tops) >= 8 and len(paths) >= 40
    assert len({path[2] for path in paths}) == len(paths)  # a leaf name names one category
    assert all(10 <= len(brands) <= 20 for brands in brands_by_top.values())

    out_of_stock = sum(product["availability"] == "out of stock" for product in feed.values())
    assert 0.05 < out_of_stock / len(feed) < 0.11
    assert sum("oldprice" in product for product in feed.values()) > 0.05 * len(feed)
    assert sum("sale_price" in product for product in feed.values()) > 0.02 * len(feed)

    def median_price(leaf: str) -> float:
        prices = sorted(float(p["price"].split()[0]) for p in feed.values() if leaf_of(p) == leaf)
        return prices[len(prices) // 2]

    assert median_price("Smartphones") > 200 > 20 > median_price("Socks")


def test_the_feed_reader_reads_every_item(shop: DemoShop) -> None:
    read_feed = getattr(pytest.importorskip("recoms.catalog"), "read_feed", None)
    if read_feed is None:
        pytest.skip("recoms.catalog.read_feed is not there yet")
    with shop.feed_xml_path.open("rb") as stream:
        records = list(read_feed(stream))
    products = [record for record in records if hasattr(record, "category")]
    assert len(products) == len(records) == shop.n_products
    assert all(len(product.category) == 3 and product.price > 0 for product in products)
    assert any(not product.in_stock for product in products)
    assert any("oldprice" in product.tags for product in products)


def test_events_are_tracker_envelopes_in_time_order(events: list[dict[str, Any]], feed: dict) -> None:
    payload_keys = {
        "ProductPage": {"productKey", "price", "isInStock"},
        "AddToWishlist": {"productKey", "price", "isInStock"},
        "CategoryPage": {"categoryKey"}, "StatusCart": {"GUID", "Products"}, "MainPage": set(),
        "PurchasedItems": {"OrderNumber", "GUID", "Products"}, "SearchRequest": {"search", "isFound"},
        "CustomerData": {"externalCustomerId", "user_email", "user_phone", "user_name"},
    }
    for event in events:
        info = event["GeneralInfo"]
        name = info["eventName"]
        assert event.keys() == {"GeneralInfo", name}
        assert event[name].keys() == payload_keys[name]
        assert info.keys() <= GENERAL_INFO_KEYS and isinstance(info["datetime"], int)
        assert isinstance(info["cookies"]["sc"], str) and info["cookies"]["sc"]
        if "productKey" in event[name]:
            assert event[name]["productKey"] in feed
    datetimes = [event["GeneralInfo"]["datetime"] for event in events]
    assert all(earlier <= later for earlier, later in pairwise(datetimes))
    assert datetimes[0] >= NOW_MS - HISTORY_DAYS * DAY_MS and datetimes[-1] <= NOW_MS
    assert datetimes[-1] - datetimes[0] > (HISTORY_DAYS - 2) * DAY_MS
    names = Counter(event["GeneralInfo"]["eventName"] for event in events)
    assert 0.55 < names["ProductPage"] / len(events) < 0.8
    assert 0.03 < names["PurchasedItems"] / len(events) < 0.08
    assert names.keys() == payload_keys.keys()
    order_numbers = [event["PurchasedItems"]["OrderNumber"] for event in events if "PurchasedItems" in event]
    assert len(set(order_numbers)) == len(order_numbers) and order_numbers == sorted(order_numbers)


def test_a_cart_is_emptied_by_its_order(events: list[dict[str, Any]]) -> None:
    for index, event in enumerate(events):
        if "PurchasedItems" in event:
            cookie, guid = event["GeneralInfo"]["cookies"]["sc"], event["PurchasedItems"]["GUID"]
            emptied = next(later for later in events[index:]
                           if "StatusCart" in later and later["GeneralInfo"]["cookies"]["sc"] == cookie)
            assert emptied["StatusCart"] == {"GUID": guid, "Products": []}


def test_customer_data_links_every_contact_and_its_devices(shop: DemoShop, events: list[dict]) -> None:
    cookies_of: dict[str, set[str]] = defaultdict(set)
    linked_at: dict[str, int] = {}
    for event in events:
        if "CustomerData" in event:
            cookie = event["GeneralInfo"]["cookies"]["sc"]
            cookies_of[event["CustomerData"]["externalCustomerId"]].add(cookie)
            linked_at.setdefault(cookie, event["GeneralInfo"]["datetime"])
    assert len(cookies_of) == shop.n_contacts
    two_devices = sum(len(cookies) == 2 for cookies in cookies_of.values())
    assert 0.05 * shop.n_contacts < two_devices < 0.25 * shop.n_contacts
    anonymous_before_login = {
        event["GeneralInfo"]["cookies"]["sc"] for event in events
        if event["GeneralInfo"]["cookies"]["sc"] in linked_at
        and event["GeneralInfo"]["datetime"] < linked_at[event["GeneralInfo"]["cookies"]["sc"]]
    }
    assert len(anonymous_before_login) > 0.2 * shop.n_contacts
    never_linked = {event["GeneralInfo"]["cookies"]["sc"] for event in events} - linked_at.keys()
    assert never_linked  # anonymous visitors
    assert all("externalCustomerId" not in event["GeneralInfo"] for event in events
               if event["GeneralInfo"]["cookies"]["sc"] in never_linked)


def test_complements_are_bought_together_far_above_chance(shop: DemoShop, events: list[dict]) -> None:
    baskets = [basket for _, basket in orders_of(events)]
    bought = Counter(product_id for basket in baskets for product_id in basket)
    pairs = [(product_id, complement) for product_id, complements in shop.complements.items()
             for complement in complements]
    together = sum(product_id in basket and complement in basket
                   for basket in baskets for product_id, complement in pairs)
    by_chance = sum(bought[product_id] * bought[complement] for product_id, complement in pairs) / len(baskets)
    assert together / by_chance > 20  # lift
    with_a_complement = sum(any(complement in basket for product_id in basket
                                for complement in shop.complements.get(product_id, ()))
                            for basket in baskets)
    assert with_a_complement / len(baskets) >= 0.4


def test_consumables_are_bought_again_by_the_same_contact(events: list[dict[str, Any]], feed: dict) -> None:
    purchase_times: dict[tuple[str, str], list[int]] = defaultdict(list)
    for event in events:
        if "PurchasedItems" in event:
            for line in event["PurchasedItems"]["Products"]:
                key = (event["GeneralInfo"]["externalCustomerId"], line["product_id"])
                purchase_times[key].append(event["GeneralInfo"]["datetime"])
    repeated = {key: times for key, times in purchase_times.items() if len(times) > 1}
    repeated_leaves = Counter(leaf_of(feed[product_id]) for _, product_id in repeated)
    assert len(repeated) > 100
    assert repeated_leaves.keys() <= CONSUMABLE_LEAVES  # nobody buys the same dress twice
    gaps = sorted(later - earlier for times in repeated.values() for earlier, later in pairwise(times))
    assert gaps[len(gaps) // 2] > 5 * DAY_MS


def test_out_of_stock_products_are_viewed_but_never_bought(events: list[dict[str, Any]], feed: dict) -> None:
    unavailable = {pid for pid, product in feed.items() if product["availability"] == "out of stock"}
    viewed = {event["ProductPage"]["productKey"] for event in events if "ProductPage" in event}
    carted = {line["productKey"] for event in events if "StatusCart" in event
              for line in event["StatusCart"]["Products"]}
    bought = set().union(*(basket for _, basket in orders_of(events)))
    assert len(unavailable & viewed) > 0.5 * len(unavailable)
    assert not unavailable & (bought | carted)


def test_sessions_compare_alternatives_of_one_leaf_at_a_similar_price(events: list[dict], feed: dict) -> None:
    last_view: dict[str, tuple[int, str]] = {}
    same_leaf = steps = 0
    price_gaps = []
    for event in events:
        if "ProductPage" not in event:
            continue
        cookie, when = event["GeneralInfo"]["cookies"]["sc"], event["GeneralInfo"]["datetime"]
        product_id = event["ProductPage"]["productKey"]
        if cookie in last_view and when - last_view[cookie][0] < 30 * 60_000:
            previous = feed[last_view[cookie][1]]
            steps += 1
            if leaf_of(previous) == leaf_of(feed[product_id]) and previous is not feed[product_id]:
                same_leaf += 1
                price_gaps.append(abs(math.log(float(previous["price"].split()[0])
                                               / float(feed[product_id]["price"].split()[0]))))
        last_view[cookie] = (when, product_id)
    assert same_leaf / steps > 0.6  # chance would be about 1 in 60
    assert sorted(price_gaps)[len(price_gaps) // 2] < 0.35  # within ~40 % of each other


def test_popularity_is_skewed(events: list[dict[str, Any]], feed: dict) -> None:
    views = Counter(event["ProductPage"]["productKey"] for event in events if "ProductPage" in event)
    counts = sorted(views.values(), reverse=True)
    top_tenth = sum(counts[: len(feed) // 10])
    assert top_tenth > 0.3 * sum(counts)  # three times its share (more in the default 38-a-leaf shop)


def test_contacts_stick_to_their_favourite_categories(events: list[dict[str, Any]], feed: dict) -> None:
    tops_by_contact: dict[str, Counter[str]] = defaultdict(Counter)
    for event in events:
        if "ProductPage" in event and "externalCustomerId" in event["GeneralInfo"]:
            top = feed[event["ProductPage"]["productKey"]]["product_type"].split(" > ")[0]
            tops_by_contact[event["GeneralInfo"]["externalCustomerId"]][top] += 1
    busy = [tops for tops in tops_by_contact.values() if tops.total() >= 30]
    share_of_top_three = [sum(n for _, n in tops.most_common(3)) / tops.total() for tops in busy]
    assert len(busy) > 20 and sum(share_of_top_three) / len(busy) > 0.75


def test_samples_show_what_they_promise(shop: DemoShop, events: list[dict[str, Any]], feed: dict) -> None:
    samples = shop.sample_product_ids
    assert samples.keys() >= {"out_of_stock", "in_cart", "popular", "category"}
    out_of_stock = feed[samples["out_of_stock"]]
    assert out_of_stock["availability"] == "out of stock"
    alternatives = [product for product in feed.values()
                    if leaf_of(product) == leaf_of(out_of_stock) and product["availability"] == "in stock"]
    assert len(alternatives) >= 5

    in_cart, complements = samples["in_cart"], shop.complements[samples["in_cart"]]
    baskets = [basket for _, basket in orders_of(events)]
    assert sum(in_cart in basket and bool(basket & set(complements)) for basket in baskets) >= 5
    assert feed[samples["popular"]]["availability"] == "in stock"
    assert sum(leaf_of(product) == samples["category"] for product in feed.values()) >= 15

    contact = shop.sample_contact
    orders = [basket for customer, basket in orders_of(events) if customer == contact["externalCustomerId"]]
    linked = {e["GeneralInfo"]["cookies"]["sc"] for e in events if "CustomerData" in e
              and e["CustomerData"]["user_email"] == contact["email"]}
    assert len(orders) >= 3 and len(linked) == 2 and contact["webId"] in linked
