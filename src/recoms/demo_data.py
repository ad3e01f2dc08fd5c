"""A believable synthetic shop for `recoms demo`: a product feed and an activity history to load.

`generate()` writes two files into `out_dir`, meant to be loaded through the paths users use:
- `demo_feed.xml`: a Google Merchant Center RSS 2.0 feed (for the feed reader) of a catalog with a
  three-level category tree, invented brands, lognormal prices per leaf category, discounts
  (`g:sale_price`, or a non-GMC `oldprice` as YML shops send it) and ~8% of products out of stock.
- `demo_events.jsonl`: web-tracker envelopes (for the tracking ingestion), one per line, sorted by
  time, over the 60 days before `now_ms`; `GeneralInfo.siteId` is left for the loader to add.

Random data would give the recommenders nothing to find, so the history is simulated from shoppers
with structure each algorithm can be seen to pick up:
- complements: leaf categories that go together (`COMPLEMENT_LEAVES`: phone -> case, charger) and a
  fixed pairing of each product of such a leaf with one product of each of those leaves; checkouts
  often add the paired product (cross_sell, also_bought);
- alternatives: a shopping session views several products of one leaf at a similar price before
  buying one of them (similar);
- repeat purchases: consumables (coffee, socks, vitamins, pet food) are re-bought by the same
  contact about every `repurchase_days` of their leaf (personal);
- popularity: Zipf-like within each leaf, uneven traffic across leaves (bestsellers);
- taste: each shopper prefers 1-3 top categories, a few brands, a price level and a gender for
  apparel (personal);
- identity: a contact browses with one or two cookies (devices), anonymously at first; a
  `CustomerData` event at login or first checkout links each cookie to the contact's identifiers;
  anonymous visitors who never log in (nor buy) add ~10% of the traffic;
- stock: out-of-stock products are viewed but never bought (similar for an unavailable product).
The catalog itself is drawn in `demo_catalog`. Everything is drawn from one `random.Random(seed)`: a
seed and `now_ms` give the same files.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from recoms import demo_catalog_words as words
from recoms.demo_catalog import MIN_IN_STOCK_PER_LEAF, Catalog, DemoProduct, build_catalog, write_feed

FEED_FILE, EVENTS_FILE = "demo_feed.xml", "demo_events.jsonl"
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
HISTORY_DAYS = 60

FAVOURITE_TOPS_SHARE = 0.85  # of a shopper's category choices
FAVOURITE_BRAND_BOOST = 4.0
TWO_DEVICE_SHARE = 0.12
ANONYMOUS_EVENT_SHARE = 0.1
EVENTS_PER_CONTACT_SESSION = 7.5  # measured; sizes the contacts' share of the events
LOGIN_CHANCE = 0.2  # per session, on a cookie not yet linked to its contact
SHOPPING_SESSION_SHARE = 0.7  # of contacts' sessions; the rest browse
ADD_TO_CART_CHANCE = 0.85
CHECKOUT_CHANCE = 0.85
COMPLEMENT_CHANCE = 0.85
REFILL_CHANCE = 0.8  # a bought consumable will be re-bought, rather than dropped


@dataclass
class DemoShop:
    feed_xml_path: Path
    events_path: Path
    n_products: int
    n_contacts: int
    n_events: int
    sample_product_ids: dict[str, str]
    sample_contact: dict[str, str]
    n_orders: int = 0
    # product id -> the products planted as bought with it (ground truth for checks and the demo)
    complements: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class Shopper:
    """A visitor's taste and, for a contact, identity and per-contact state."""

    leaf_cum_weights: list[float]  # over words.LEAF_SPECS
    favourite_brands: set[str]
    price_level: float  # multiplies a leaf's median price
    cookies: list[str]
    identity: dict[str, str] | None = None  # the CustomerData payload; None for anonymous visitors
    linked_cookies: set[str] = field(default_factory=set)
    refills_due: dict[str, int] = field(default_factory=dict)  # consumable product id -> ms
    owned: set[DemoProduct] = field(default_factory=set)  # durables bought: nobody buys a dress twice
    n_events: int = 0
    n_orders: int = 0


@dataclass(slots=True)
class Visit:
    shopper: Shopper
    cookie: str
    clock: int
    identified: bool = False


def generate(out_dir: Path, seed: int = 7, n_products: int = 2400, n_contacts: int = 1200,
             n_events: int = 60000, now_ms: int | None = None) -> DemoShop:
    """Write the demo feed and events into `out_dir`. The history has exactly `n_events` events
    unless the contacts' own sessions need more (a tiny `n_events` for many contacts)."""
    rng = random.Random(seed)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    catalog = build_catalog(rng, n_products)
    contacts = [make_shopper(rng, catalog, make_identity(rng, number)) for number in range(n_contacts)]
    simulator = Simulator(rng, catalog, now_ms)
    simulator.simulate_contacts(contacts, round(n_events * (1 - ANONYMOUS_EVENT_SHARE)))
    simulator.fill_with_anonymous_visits(n_events)
    events = simulator.events_in_time_order()
    out_dir.mkdir(parents=True, exist_ok=True)
    feed_path, events_path = out_dir / FEED_FILE, out_dir / EVENTS_FILE
    write_feed(catalog.products, feed_path)
    events_path.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in events))
    orders = [event for event in events if "PurchasedItems" in event]
    return DemoShop(
        feed_xml_path=feed_path, events_path=events_path, n_products=len(catalog.products),
        n_contacts=len(contacts), n_events=len(events),
        sample_product_ids=pick_sample_products(catalog, events, orders),
        sample_contact=pick_sample_contact(contacts), n_orders=len(orders),
        complements={p.id: tuple(c.id for c in p.complements) for p in catalog.products if p.complements},
    )


# --- shoppers --------------------------------------------------------------------------------------

def make_identity(rng: random.Random, number: int) -> dict[str, str]:
    first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
    return {
        "externalCustomerId": f"c{1001 + number}",
        "user_email": f"{first}.{last}{number + 1}@{rng.choice(words.EMAIL_DOMAINS)}".lower(),
        "user_phone": f"+1555{rng.randrange(10**7):07d}",
        "user_name": f"{first} {last}",
    }


def make_shopper(rng: random.Random, catalog: Catalog, identity: dict[str, str] | None = None) -> Shopper:
    """Favourite top categories get FAVOURITE_TOPS_SHARE of the visits; apparel of the other gender few."""
    tops, top_traffic = list(words.TOP_CATEGORY_TRAFFIC), list(words.TOP_CATEGORY_TRAFFIC.values())
    favourite_count = rng.choices([1, 2, 3], weights=[4, 4, 2])[0]
    favourite_tops: set[str] = set()
    while len(favourite_tops) < favourite_count:
        favourite_tops.add(rng.choices(tops, weights=top_traffic)[0])
    gender = rng.choice(["female", "male"])
    weights = {leaf: traffic * (1.0 if words.LEAF_SPECS[leaf].gender in ("unisex", gender) else 0.08)
               for leaf, traffic in catalog.leaf_traffic.items()}
    favourite_total = sum(w for leaf, w in weights.items() if words.LEAF_PATHS[leaf][0] in favourite_tops)
    other_total = sum(weights.values()) - favourite_total
    shares = [FAVOURITE_TOPS_SHARE * w / favourite_total if words.LEAF_PATHS[leaf][0] in favourite_tops
              else (1 - FAVOURITE_TOPS_SHARE) * w / other_total for leaf, w in weights.items()]
    brands = {brand for top in sorted(favourite_tops)
              for brand in rng.sample(words.BRANDS[top], rng.randint(1, 2))}
    cookie_count = 2 if identity and rng.random() < TWO_DEVICE_SHARE else 1
    cookies = [f"{rng.getrandbits(128):032x}" for _ in range(cookie_count)]
    return Shopper(list(itertools.accumulate(shares)), brands, rng.lognormvariate(0, 0.35), cookies, identity)


# --- behaviour -------------------------------------------------------------------------------------

class Simulator:
    """Plays shoppers' sessions, each a few events about a minute apart, and collects their events."""

    def __init__(self, rng: random.Random, catalog: Catalog, now_ms: int) -> None:
        self.rng, self.catalog, self.now_ms = rng, catalog, now_ms
        self.events: list[dict[str, Any]] = []
        self.carts: dict[str, tuple[str, list[list[Any]]]] = {}  # cookie -> (GUID, [[product, quantity]])

    def simulate_contacts(self, contacts: list[Shopper], event_budget: int) -> None:
        """Each contact gets a session per cookie; the other sessions go by a heavy-tailed activity."""
        sessions = [len(contact.cookies) for contact in contacts]
        extra = max(0, round(event_budget / EVENTS_PER_CONTACT_SESSION) - sum(sessions))
        activity = [self.rng.lognormvariate(0, 0.9) for _ in contacts]
        for index in self.rng.choices(range(len(contacts)), weights=activity, k=extra):
            sessions[index] += 1
        for contact, count in zip(contacts, sessions, strict=True):
            self.simulate_history(contact, count)

    def fill_with_anonymous_visits(self, n_events: int) -> None:
        while len(self.events) < n_events:
            self.simulate_history(make_shopper(self.rng, self.catalog), self.rng.choice([1, 1, 1, 2, 3]))
        del self.events[n_events:]  # the last visit ends early

    def simulate_history(self, shopper: Shopper, n_sessions: int) -> None:
        """Sessions in time order; a second device takes over some; every cookie gets linked by the end."""
        first, *others = shopper.cookies
        cookies = [first] + [self.rng.choice(shopper.cookies) if self.rng.random() < 0.35 else first
                             for _ in range(n_sessions - 1)]
        for cookie in others:
            if cookie not in cookies:
                cookies[-1] = cookie
        last_session_of = {cookie: index for index, cookie in enumerate(cookies)}
        free_from = 0
        starts = sorted(self.session_start() for _ in range(n_sessions))
        for index, (cookie, start) in enumerate(zip(cookies, starts, strict=True)):
            visit = Visit(shopper, cookie, max(start, free_from))
            self.play_session(visit, must_log_in=last_session_of[cookie] == index)
            free_from = visit.clock + 30 * MINUTE_MS

    def session_start(self) -> int:
        """A time in the HISTORY_DAYS before now, busier in the evening, ending an hour before now."""
        first_day = (self.now_ms // DAY_MS - HISTORY_DAYS) * DAY_MS
        while True:
            hour = self.rng.choices(range(24), weights=words.HOURLY_TRAFFIC)[0]
            start = first_day + self.rng.randrange(HISTORY_DAYS + 1) * DAY_MS + hour * HOUR_MS
            start += self.rng.randrange(HOUR_MS)
            if self.now_ms - HISTORY_DAYS * DAY_MS <= start <= self.now_ms - HOUR_MS:
                return start

    def play_session(self, visit: Visit, must_log_in: bool) -> None:
        rng, shopper = self.rng, visit.shopper
        if shopper.identity and visit.cookie in shopper.linked_cookies:
            visit.identified = rng.random() < 0.6
        elif shopper.identity and (must_log_in or rng.random() < LOGIN_CHANCE):
            self.log_in(visit)
        refills = [product_id for product_id, due in shopper.refills_due.items() if due <= visit.clock]
        if refills and rng.random() < 0.85:
            self.refill(visit, refills)
        elif shopper.identity and rng.random() < SHOPPING_SESSION_SHARE:
            self.shop(visit)
        else:
            self.browse(visit)

    def shop(self, visit: Visit) -> None:
        """Compare alternatives of one leaf at a similar price, buy one and often a complement."""
        rng = self.rng
        leaf = self.pick_leaf(visit.shopper)
        self.arrive(visit, leaf)
        anchor = self.pick_product(visit.shopper, leaf)
        viewed = [anchor, *self.alternatives(anchor, rng.randint(1, 6))]
        for product in viewed:
            self.view(visit, product)
        if rng.random() < 0.08:
            self.emit(visit, "AddToWishlist", product_payload(rng.choice(viewed)))
        if rng.random() > ADD_TO_CART_CHANCE:
            return
        buyable = [product for product in viewed if self.buyable(visit.shopper, product)]
        if not buyable:
            buyable = [self.pick_product(visit.shopper, leaf, to_buy=True)]
            self.view(visit, buyable[0])
        chosen = buyable[0] if rng.random() < 0.5 else rng.choice(buyable)
        if rng.random() < 0.3:
            self.view(visit, chosen)  # back to the one they settle on
        self.add_with_complement(visit, chosen, COMPLEMENT_CHANCE)
        if rng.random() < CHECKOUT_CHANCE:
            self.check_out(visit)

    def refill(self, visit: Visit, product_ids: list[str]) -> None:
        """Re-buy consumables that are running out, through search or straight to the product."""
        for product_id in product_ids[:3]:
            product = self.catalog.by_id[product_id]
            if self.rng.random() < 0.3:
                self.emit(visit, "SearchRequest", {"search": product.leaf.lower(), "isFound": 1})
            self.view(visit, product)
            self.add_with_complement(visit, product, COMPLEMENT_CHANCE / 2)
        self.check_out(visit)

    def browse(self, visit: Visit) -> None:
        """Look around a leaf; sometimes wish for something or leave it in the cart."""
        rng = self.rng
        if rng.random() < 0.25:
            self.emit(visit, "MainPage", {})
        if rng.random() < 0.06:
            self.emit(visit, "SearchRequest", {"search": rng.choice(words.UNKNOWN_SEARCHES), "isFound": 0})
        leaf = self.pick_leaf(visit.shopper)
        self.arrive(visit, leaf, search_chance=0.15)
        viewed = list(dict.fromkeys(self.pick_product(visit.shopper, leaf) for _ in range(rng.randint(2, 8))))
        for product in viewed:
            self.view(visit, product)
        if rng.random() < 0.1:
            self.emit(visit, "AddToWishlist", product_payload(rng.choice(viewed)))
        buyable = [product for product in viewed if self.buyable(visit.shopper, product)]
        if buyable and rng.random() < 0.1:
            self.add_to_cart(visit, rng.choice(buyable))

    # --- steps ---

    def arrive(self, visit: Visit, leaf: str, search_chance: float = 0.2) -> None:
        """Land on the leaf's (or its mid category's) page, search for it, or come from an ad."""
        draw, mid = self.rng.random(), words.LEAF_PATHS[leaf][1]
        if draw < 0.35:
            self.emit(visit, "CategoryPage", {"categoryKey": mid if self.rng.random() < 0.25 else leaf})
        elif draw < 0.35 + search_chance:
            self.emit(visit, "SearchRequest", {"search": words.LEAF_SPECS[leaf].noun.lower(), "isFound": 1})

    def log_in(self, visit: Visit) -> None:
        assert visit.shopper.identity is not None
        visit.identified = True
        self.emit(visit, "CustomerData", dict(visit.shopper.identity))
        visit.shopper.linked_cookies.add(visit.cookie)

    def view(self, visit: Visit, product: DemoProduct) -> None:
        self.emit(visit, "ProductPage", product_payload(product))

    def add_with_complement(self, visit: Visit, product: DemoProduct, complement_chance: float) -> None:
        self.add_to_cart(visit, product)
        complements = [c for c in product.complements if self.buyable(visit.shopper, c)]
        if complements and self.rng.random() < complement_chance:
            complement = self.rng.choice(complements)
            self.view(visit, complement)
            self.add_to_cart(visit, complement)

    def add_to_cart(self, visit: Visit, product: DemoProduct) -> None:
        """Carts live per cookie and outlast sessions until an order empties them."""
        guid, lines = self.carts.get(visit.cookie) or (uuid_text(self.rng), [])
        quantity = self.rng.choice([1, 1, 2, 3]) if product.is_consumable else 1
        line = next((line for line in lines if line[0] is product), None)
        if line:
            line[1] += quantity
        else:
            lines.append([product, quantity])
        self.carts[visit.cookie] = (guid, lines)
        products = [{"productKey": p.id, "price": p.paid_price, "quantity": q} for p, q in lines]
        self.emit(visit, "StatusCart", {"GUID": guid, "Products": products})

    def check_out(self, visit: Visit) -> None:
        shopper = visit.shopper
        if visit.cookie not in shopper.linked_cookies:
            self.log_in(visit)
        visit.identified = True
        guid, lines = self.carts.pop(visit.cookie)
        products = [{"product_id": p.id, "unit_price": p.paid_price, "quantity": q} for p, q in lines]
        self.emit(visit, "PurchasedItems", {"OrderNumber": "", "GUID": guid, "Products": products})
        self.emit(visit, "StatusCart", {"GUID": guid, "Products": []})
        shopper.n_orders += 1
        for product, _ in lines:
            shopper.refills_due.pop(product.id, None)
            if not product.is_consumable:
                shopper.owned.add(product)
            if product.is_consumable and self.rng.random() < REFILL_CHANCE:
                cycle_days = words.LEAF_SPECS[product.leaf].repurchase_days * self.rng.lognormvariate(0, 0.2)
                shopper.refills_due[product.id] = visit.clock + int(cycle_days * DAY_MS)

    def emit(self, visit: Visit, name: str, payload: dict[str, Any]) -> None:
        gap = 2000 + int(self.rng.lognormvariate(math.log(60_000), 0.7))
        visit.clock = min(self.now_ms, visit.clock + gap)
        info: dict[str, Any] = {"eventName": name, "datetime": visit.clock, "cookies": {"sc": visit.cookie}}
        if visit.identified and visit.shopper.identity:
            info["externalCustomerId"] = visit.shopper.identity["externalCustomerId"]
            info["user_email"] = visit.shopper.identity["user_email"]
        self.events.append({"GeneralInfo": info, name: payload})
        visit.shopper.n_events += 1

    # --- choices ---

    def pick_leaf(self, shopper: Shopper) -> str:
        return self.rng.choices(list(words.LEAF_SPECS), cum_weights=shopper.leaf_cum_weights)[0]

    def buyable(self, shopper: Shopper, product: DemoProduct) -> bool:
        return product.in_stock and product not in shopper.owned

    def pick_product(self, shopper: Shopper, leaf: str, to_buy: bool = False) -> DemoProduct:
        """Popular products, favourite brands and the shopper's price level draw the eye."""
        candidates = [p for p in self.catalog.by_leaf[leaf] if not to_buy or self.buyable(shopper, p)]
        candidates = candidates or [p for p in self.catalog.by_leaf[leaf] if p.in_stock]
        level = math.log(shopper.price_level)
        weights = [p.popularity * (FAVOURITE_BRAND_BOOST if p.brand in shopper.favourite_brands else 1.0)
                   * math.exp(-((p.log_relative_price - level) ** 2) / 0.4) for p in candidates]
        return self.rng.choices(candidates, weights=weights)[0]

    def alternatives(self, anchor: DemoProduct, count: int) -> list[DemoProduct]:
        """Other products of the anchor's leaf at a similar price, drawn without replacement."""
        keyed = []
        for product in self.catalog.by_leaf[anchor.leaf]:
            if product is not anchor:
                gap = product.log_relative_price - anchor.log_relative_price
                weight = math.sqrt(product.popularity) * math.exp(-(gap**2) / 0.125) + 1e-12
                keyed.append((self.rng.random() ** (1 / weight), product.id, product))
        return [product for *_, product in sorted(keyed, reverse=True)[:count]]

    def events_in_time_order(self) -> list[dict[str, Any]]:
        """Sort by time (stably: a session keeps its order) and number the orders as they come."""
        self.events.sort(key=lambda event: event["GeneralInfo"]["datetime"])
        orders = (event["PurchasedItems"] for event in self.events if "PurchasedItems" in event)
        for number, order in enumerate(orders, start=100001):
            order["OrderNumber"] = f"D{number}"
        return self.events


def product_payload(product: DemoProduct) -> dict[str, Any]:
    return {"productKey": product.id, "price": product.paid_price, "isInStock": int(product.in_stock)}


def uuid_text(rng: random.Random) -> str:
    digits = f"{rng.getrandbits(128):032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


# --- samples for the demo --------------------------------------------------------------------------

def pick_sample_products(catalog: Catalog, events: list[dict[str, Any]],
                         orders: list[dict[str, Any]]) -> dict[str, str]:
    """Products and a category that show each recommender at its best."""
    views = Counter(event["ProductPage"]["productKey"] for event in events if "ProductPage" in event)
    baskets = [{line["product_id"] for line in order["PurchasedItems"]["Products"]} for order in orders]
    bought_by = Counter((order["GeneralInfo"]["externalCustomerId"], product_id)
                        for order, basket in zip(orders, baskets, strict=True) for product_id in basket)
    rebought = Counter(product_id for (_, product_id), times in bought_by.items() if times > 1)
    bought_with_complement = Counter(
        product_id for basket in baskets for product_id in basket
        if any(complement.id in basket for complement in catalog.by_id[product_id].complements)
    )
    replaceable = [p for p in catalog.products if not p.in_stock
                   and sum(o.in_stock for o in catalog.by_leaf[p.leaf]) >= MIN_IN_STOCK_PER_LEAF]
    in_stock = [p for p in catalog.products if p.in_stock]
    consumables = [p for p in catalog.products if p.is_consumable]
    with_complements = [p for p in catalog.products if p.complements]
    in_cart = max(with_complements, key=lambda p: (bought_with_complement[p.id], views[p.id], p.id)).id
    return {
        "out_of_stock": max(replaceable, key=lambda p: (views[p.id], p.id)).id,
        "in_cart": in_cart,
        "popular": max((p for p in in_stock if p.id != in_cart), key=lambda p: (views[p.id], p.id)).id,
        "repeat_purchase": max(consumables, key=lambda p: (rebought[p.id], views[p.id], p.id)).id,
        "category": max(catalog.by_leaf, key=lambda leaf: (len(catalog.by_leaf[leaf]), leaf)),
    }


def pick_sample_contact(contacts: list[Shopper]) -> dict[str, str]:
    """A contact on two devices with a long history of orders."""
    contact = max(contacts, key=lambda c: (len(c.cookies), c.n_orders, c.n_events))
    assert contact.identity is not None
    return {
        "externalCustomerId": contact.identity["externalCustomerId"],
        "email": contact.identity["user_email"],
        "phone": contact.identity["user_phone"],
        "webId": contact.cookies[0],
    }
