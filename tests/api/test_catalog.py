"""The catalog over HTTP (SPEC §4): feed upload in every format, the import report, unavailability,
hostile and oversized feeds, and `GET /api/v1/products/{id}` in the response shape of SPEC §2."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from recoms.api.app import create_app
from recoms.services.platform import build_platform
from tests.conftest import Shop, envelope, make_settings
from tests.feeds import gmc_xml

PROBLEM = "application/problem+json"
MANDATORY = {"id", "name", "url", "price", "descr", "brand", "category", "isInStock"}


def product(shop, product_id: str):
    return shop.client.get(f"/api/v1/products/{product_id}", headers=shop.auth)


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in r.text
    return body


def assert_shape(body: dict) -> None:
    """The SPEC §2 product shape: the mandatory fields with their types, every other key a tags_*."""
    assert set(body) >= MANDATORY
    assert all(key.startswith("tags_") for key in set(body) - MANDATORY), body
    assert isinstance(body["id"], str)
    assert isinstance(body["name"], str) and isinstance(body["url"], str)
    assert isinstance(body["price"], (int, float)) and not isinstance(body["price"], bool)
    assert isinstance(body["descr"], str) and isinstance(body["brand"], str)
    assert isinstance(body["category"], list) and all(isinstance(c, str) for c in body["category"])
    assert body["isInStock"] in (0, 1) and not isinstance(body["isInStock"], bool)


# --- formats ----------------------------------------------------------------------------------


def test_raw_gmc_xml_body(shop):
    xml = gmc_xml([
        {"id": "X1", "name": "Kettle", "descr": "Boils water", "url": "https://shop.test/x1", "price": 19.5,
         "brand": "Volt", "category": "Home > Kitchen > Kettles",
         "tags": {"image_link": "https://shop.test/x1.jpg", "gender": "unisex", "oldprice": "25"}},
        {"id": "X2", "in_stock": False},
    ])
    report = shop.feed(xml)
    assert report == {"format": "gmc_xml", "itemsOk": 2, "itemsBad": 0, "markedUnavailable": 0,
                      "complete": True, "errors": []}
    r = product(shop, "X1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == {
        "id": "X1", "name": "Kettle", "url": "https://shop.test/x1", "price": 19.5, "descr": "Boils water",
        "brand": "Volt", "category": ["Home", "Kitchen", "Kettles"], "isInStock": 1,
        "tags_image_link": "https://shop.test/x1.jpg", "tags_gender": "unisex", "tags_oldprice": "25",
        "tags_product_type": "Home > Kitchen > Kettles", "tags_currency": "USD",
    }
    assert_shape(r.json())
    assert product(shop, "X2").json()["isInStock"] == 0


def test_gmc_atom_body(shop):
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">'
        "<title>t</title><entry><g:id>AT1</g:id><title>Atom thing</title><summary>About it</summary>"
        '<link href="https://shop.test/at1"/><g:price>7.25 EUR</g:price><g:availability>preorder</g:availability>'
        "<g:brand>Acme</g:brand><g:google_product_category>Toys &gt; Blocks</g:google_product_category>"
        "</entry></feed>"
    )
    report = shop.feed(atom, "application/atom+xml")
    assert (report["format"], report["itemsOk"], report["itemsBad"]) == ("gmc_atom", 1, 0)
    body = product(shop, "AT1").json()
    assert_shape(body)
    assert (body["name"], body["descr"], body["url"], body["price"], body["isInStock"], body["category"]) == (
        "Atom thing", "About it", "https://shop.test/at1", 7.25, 1, ["Toys", "Blocks"])


TSV = (
    "id\ttitle\tdescription\tlink\tprice\tavailability\tbrand\tproduct_type\timage_link\tcolor\n"
    "T1\tTowel\tSoft\thttps://shop.test/t1\t12.00 USD\tin stock\tCotto\tHome > Bath\thttps://shop.test/t1.jpg\tblue\n"
    "T2\tMat\t\thttps://shop.test/t2\t30 USD\tout of stock\tCotto\tHome > Bath\t\t\n"
)


def test_tsv_body(shop):
    report = shop.feed(TSV, "text/tab-separated-values")
    assert (report["format"], report["itemsOk"], report["itemsBad"]) == ("gmc_tsv", 2, 0)
    t1 = product(shop, "T1").json()
    assert_shape(t1)
    assert t1 == {"id": "T1", "name": "Towel", "url": "https://shop.test/t1", "price": 12.0, "descr": "Soft",
                  "brand": "Cotto", "category": ["Home", "Bath"], "isInStock": 1,
                  "tags_image_link": "https://shop.test/t1.jpg", "tags_color": "blue",
                  "tags_product_type": "Home > Bath", "tags_currency": "USD"}
    assert product(shop, "T2").json()["isInStock"] == 0


def test_csv_body(shop):
    csv = (
        "g:id,g:title,g:description,g:link,g:price,g:availability,g:brand,g:product_type\n"
        'C1,"Chair, oak","Solid, heavy",https://shop.test/c1,"1,299.00 USD",in stock,Woody,Home > Furniture\n'
    )
    report = shop.feed(csv, "text/csv")
    assert (report["format"], report["itemsOk"], report["itemsBad"]) == ("gmc_csv", 1, 0)
    c1 = product(shop, "C1").json()
    assert_shape(c1)
    assert (c1["name"], c1["descr"], c1["price"], c1["category"]) == (
        "Chair, oak", "Solid, heavy", 1299.0, ["Home", "Furniture"])


def test_multipart_upload(shop):
    xml = gmc_xml([{"id": "M1"}, {"id": "M2"}])
    r = shop.client.post("/api/v1/feeds", files={"file": ("catalog.xml", xml.encode(), "application/xml")},
                         headers=shop.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["itemsOk"], r.json()["format"]) == (2, "gmc_xml")
    assert product(shop, "M2").status_code == 200
    history = shop.client.get("/api/v1/feeds", headers=shop.auth).json()
    assert history[0]["source"] == "catalog.xml"


def test_multipart_without_a_file_part_is_400(shop):
    r = shop.client.post("/api/v1/feeds", files={"other": ("x.xml", b"<rss/>", "application/xml")},
                         headers=shop.auth)
    assert "file" in assert_problem(r, 400)["detail"]


YML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE yml_catalog SYSTEM "shops.dtd">
<yml_catalog date="2024-01-01 10:00">
<shop><name>S</name><company>C</company><url>https://shop.test</url>
<currencies><currency id="UAH" rate="1"/></currencies>
<categories><category id="1">Home</category><category id="2" parentId="1">Kitchen</category></categories>
<offers>
<offer id="Y1" available="true"><url>https://shop.test/y1</url><price>1299.50</price><currencyId>UAH</currencyId>
<categoryId>2</categoryId><picture>https://shop.test/y1.jpg</picture><vendor>Volt</vendor><name>Kettle</name>
<description>Boils</description><param name="Color">red</param><oldprice>1500</oldprice></offer>
<offer id="Y2" available="false"><price>10</price><name>Cup</name><categoryId>2</categoryId></offer>
</offers></shop></yml_catalog>"""


def test_yml_body(shop):
    report = shop.feed(YML)
    assert (report["format"], report["itemsOk"], report["itemsBad"]) == ("yml", 2, 0)
    y1 = product(shop, "Y1").json()
    assert_shape(y1)
    assert y1 == {"id": "Y1", "name": "Kettle", "url": "https://shop.test/y1", "price": 1299.5, "descr": "Boils",
                  "brand": "Volt", "category": ["Home", "Kitchen"], "isInStock": 1,
                  "tags_oldprice": "1500", "tags_color": "red", "tags_image_link": "https://shop.test/y1.jpg",
                  "tags_currency": "UAH", "tags_product_type": "Home > Kitchen"}
    assert product(shop, "Y2").json()["isInStock"] == 0


def test_explicit_format_parameter(shop):
    report = shop.feed(TSV, "text/plain", format="gmc_tsv")
    assert (report["format"], report["itemsOk"]) == ("gmc_tsv", 2)


# --- the report -------------------------------------------------------------------------------


def test_a_bad_item_among_good_ones_is_reported_and_the_rest_imported(shop):
    xml = gmc_xml([{"id": "G1"}, {"id": "BAD", "price": "abc"}, {"id": "G2"}])
    report = shop.feed(xml)
    assert (report["itemsOk"], report["itemsBad"], report["complete"]) == (2, 1, True)
    (error,) = report["errors"]
    assert error["index"] == 1 and error["id"] == "BAD" and "price" in error["reason"]
    assert product(shop, "G1").status_code == 200 and product(shop, "G2").status_code == 200
    assert_problem(product(shop, "BAD"), 404)


def test_items_without_id_or_title_are_reported(shop):
    tsv = "id\ttitle\tprice\nOK1\tFine\t3\n\tNo id\t4\nNT\t\t5\n"
    report = shop.feed(tsv, "text/tab-separated-values")
    assert report["itemsOk"] == 1 and report["itemsBad"] == 2
    assert [(e["index"], e["id"]) for e in report["errors"]] == [(1, None), (2, "NT")]


LONG = [{"id": "L" * 250}, {"id": "N1", "name": "n" * 1500}, {"id": "B1", "brand": "b" * 400},
        {"id": "U1", "url": "https://shop.test/" + "u" * 2500}]


@pytest.mark.parametrize("long", LONG, ids=["id-250", "name-1500", "brand-400", "url-2500"])
def test_an_over_long_field_never_fails_the_whole_feed(shop, platform, request, long):
    client = TestClient(shop.client.app, raise_server_exceptions=False)
    r = client.post("/api/v1/feeds", content=gmc_xml([{"id": "OK"}, long]),
                    headers={**shop.auth, "Content-Type": "application/xml"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["itemsOk"] + report["itemsBad"] == 2
    assert product(shop, "OK").status_code == 200
    if report["itemsBad"]:  # refused as a bad item, with its index
        assert report["errors"][0]["index"] == 1
    else:  # or kept whole
        assert product(shop, long["id"]).json() == {**product(shop, long["id"]).json(), **{
            k: v for k, v in long.items() if k in ("id", "name", "brand", "url")}}


# --- full and partial feeds -------------------------------------------------------------------


def sales(shop, product_id: str, n: int) -> None:
    shop.events([envelope("PurchasedItems", {"OrderNumber": f"{product_id}-{i}", "Products": [
        {"product_id": product_id, "unit_price": 10, "quantity": 1}]}, sc=f"buyer-{product_id}-{i}")
        for i in range(n)])


def test_a_product_missing_from_a_new_full_feed_becomes_unavailable_and_is_never_recommended(shop, platform):
    shop.feed(gmc_xml([{"id": "P1"}, {"id": "P2"}, {"id": "HIT"}]))
    sales(shop, "HIT", 5)
    sales(shop, "P1", 2)
    shop.train()
    ds = shop.datasource(algorithm="bestsellers", size=10)
    assert shop.recommend_ids(ds)[0] == "HIT"  # the best seller, while it is in the feed

    report = shop.feed(gmc_xml([{"id": "P1"}, {"id": "P2"}]))
    assert report["markedUnavailable"] == 1
    r = product(shop, "HIT")
    assert r.status_code == 200  # kept, not deleted
    assert r.json()["isInStock"] == 0 and r.json()["id"] == "HIT"
    platform.serving.invalidate(shop.account_id)  # what the background refresh does on a catalog change
    assert "HIT" not in shop.recommend_ids(ds)  # the old model already leaves it out
    shop.train()
    ids = shop.recommend_ids(ds)
    assert "HIT" not in ids and ids[0] == "P1"
    also = shop.client.get(f"/api/v2/contacts/recoms/{ds}", params={"email": "x@y.test"}, headers=shop.auth)
    assert "HIT" not in [p["id"] for p in also.json()]

    shop.feed(gmc_xml([{"id": "P1"}, {"id": "P2"}, {"id": "HIT"}]))  # listed again: available again
    assert product(shop, "HIT").json()["isInStock"] == 1


def test_partial_mode_does_not_mark_missing_products(shop):
    shop.feed(gmc_xml([{"id": "P1"}, {"id": "P2"}, {"id": "P3"}]))
    report = shop.feed(gmc_xml([{"id": "P1", "name": "Renamed"}, {"id": "P4"}]), mode="partial")
    assert report["markedUnavailable"] == 0 and report["itemsOk"] == 2
    assert [product(shop, p).json()["isInStock"] for p in ("P1", "P2", "P3", "P4")] == [1, 1, 1, 1]
    assert product(shop, "P1").json()["name"] == "Renamed"
    history = shop.client.get("/api/v1/feeds", headers=shop.auth).json()
    assert [h["full"] for h in history] == [False, True]


def test_a_truncated_full_feed_marks_nothing_unavailable(shop):
    shop.feed(gmc_xml([{"id": "P1"}, {"id": "P2"}, {"id": "P3"}]))
    whole = gmc_xml([{"id": "P1"}, {"id": "P2"}])
    cut = whole[: whole.index("<item>", whole.index("</item>"))] + "<item><g:id>P2</g:id><tit"
    report = shop.feed(cut)
    assert report["complete"] is False and report["markedUnavailable"] == 0
    assert report["itemsOk"] == 1 and any(e["index"] == -1 for e in report["errors"])
    assert product(shop, "P3").json()["isInStock"] == 1


def test_bad_mode_is_400(shop):
    r = shop.client.post("/api/v1/feeds", params={"mode": "sometimes"}, content=gmc_xml([{"id": "P"}]),
                         headers={**shop.auth, "Content-Type": "application/xml"})
    assert "mode" in assert_problem(r, 400)["detail"]
    assert_problem(product(shop, "P"), 404)


# --- hostile, unknown and oversized feeds -----------------------------------------------------

ITEM = ("<item><g:id>EVIL</g:id><title>&lol9;</title><link>https://x</link><g:price>1 USD</g:price></item>")
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
              for i in range(1, 10))
    + ']>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>' + ITEM + "</channel></rss>"
)
XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>EVIL</g:id>'
    "<title>&xxe;</title><g:price>1 USD</g:price></item></channel></rss>"
)
YML_XXE = YML.replace('<!DOCTYPE yml_catalog SYSTEM "shops.dtd">',
                      '<!DOCTYPE yml_catalog [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>').replace(
    "<name>Kettle</name>", "<name>&xxe;</name>")


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, YML_XXE], ids=["billion-laughs", "xxe", "yml-xxe"])
def test_hostile_xml_is_refused_and_nothing_imported(shop, body):
    r = shop.client.post("/api/v1/feeds", content=body, headers={**shop.auth, "Content-Type": "application/xml"})
    problem = assert_problem(r, 400)
    assert "refused" in problem["detail"]
    assert "root:" not in r.text  # nothing of /etc/passwd leaks
    for pid in ("EVIL", "Y1", "Y2"):
        assert_problem(product(shop, pid), 404)
    assert shop.client.get("/api/v1/feeds", headers=shop.auth).json() == []


def test_a_full_feed_refused_marks_nothing_unavailable(shop):
    shop.feed(gmc_xml([{"id": "P1"}]))
    r = shop.client.post("/api/v1/feeds", content=XXE, headers={**shop.auth, "Content-Type": "application/xml"})
    assert_problem(r, 400)
    assert product(shop, "P1").json()["isInStock"] == 1


@pytest.mark.parametrize("body, params", [
    ("just some words\nnot a feed\n", {}),
    ("<html><body>not a feed</body></html>", {}),
    (gmc_xml([{"id": "P1"}]), {"format": "nope"}),
], ids=["text", "html", "format-param"])
def test_unknown_format_is_400(shop, body, params):
    r = shop.client.post("/api/v1/feeds", content=body, params=params,
                         headers={**shop.auth, "Content-Type": "application/xml"})
    assert_problem(r, 400)
    assert_problem(product(shop, "P1"), 404)


def test_empty_body_and_unreadable_media_type(shop):
    r = shop.client.post("/api/v1/feeds", content=b"", headers={**shop.auth, "Content-Type": "application/xml"})
    assert_problem(r, 400)
    r = shop.client.post("/api/v1/feeds", content=b"\x89PNG....", headers={**shop.auth, "Content-Type": "image/png"})
    assert_problem(r, 415)
    r = shop.client.post("/api/v1/feeds", json={"nope": 1}, headers=shop.auth)
    assert "url" in assert_problem(r, 400)["detail"]


@pytest.fixture
def small_feed_shop(tmp_path):
    settings = make_settings(f"sqlite:///{tmp_path / 'small.db'}", tmp_path, max_feed_bytes=2048)
    platform = build_platform(settings)
    client = TestClient(create_app(platform=platform, background=False))
    yield Shop(client, platform)
    platform.close()


def test_an_oversized_feed_is_413_and_nothing_imported(small_feed_shop):
    shop = small_feed_shop
    big = gmc_xml([{"id": f"B{i}", "descr": "x" * 100} for i in range(20)])
    assert len(big.encode()) > 2048
    headers = {**shop.auth, "Content-Type": "application/xml"}
    assert_problem(shop.client.post("/api/v1/feeds", content=big, headers=headers), 413)

    def chunks():  # no Content-Length: the limit must hold while streaming
        data = big.encode()
        for i in range(0, len(data), 500):
            yield data[i:i + 500]

    assert_problem(shop.client.post("/api/v1/feeds", content=chunks(), headers=headers), 413)
    r = shop.client.post("/api/v1/feeds", files={"file": ("big.xml", big.encode(), "application/xml")},
                         headers=shop.auth)
    assert_problem(r, 413)
    assert_problem(product(shop, "B0"), 404)
    assert shop.client.get("/api/v1/feeds", headers=shop.auth).json() == []
    small = shop.feed(gmc_xml([{"id": "S1"}]))  # under the limit: fine
    assert small["itemsOk"] == 1


# --- products and import history --------------------------------------------------------------


def test_unknown_product_is_a_404_problem(shop):
    body = assert_problem(product(shop, "nope"), 404)
    assert body["title"] == "Not found" and "nope" in body["detail"]


def test_product_ids_with_spaces_and_unicode(shop):
    shop.feed(gmc_xml([{"id": "SKU 1 ä"}]))
    r = shop.client.get("/api/v1/products/SKU%201%20%C3%A4", headers=shop.auth)
    assert r.status_code == 200 and r.json()["id"] == "SKU 1 ä"


def test_product_id_with_a_slash(shop):
    shop.feed(gmc_xml([{"id": "AB/123"}]))
    r = shop.client.get("/api/v1/products/AB%2F123", headers=shop.auth)
    assert r.status_code == 200 and r.json()["id"] == "AB/123"


def test_products_need_a_key(shop):
    r = shop.client.get("/api/v1/products/P1")
    assert_problem(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Basic")


def test_feed_history_lists_imports_newest_first(shop):
    assert shop.client.get("/api/v1/feeds", headers=shop.auth).json() == []
    shop.feed(gmc_xml([{"id": "H1"}, {"id": "BAD", "price": "x"}]))
    shop.feed(TSV, "text/tab-separated-values", mode="partial")
    history = shop.client.get("/api/v1/feeds", headers=shop.auth).json()
    assert len(history) == 2
    newest, oldest = history
    assert newest["id"] > oldest["id"]
    assert (newest["format"], newest["full"], newest["itemsOk"], newest["itemsBad"]) == ("gmc_tsv", False, 2, 0)
    assert (oldest["format"], oldest["full"], oldest["itemsOk"], oldest["itemsBad"]) == ("gmc_xml", True, 1, 1)
    assert oldest["errors"][0]["id"] == "BAD"
    assert oldest["startedAt"] <= oldest["finishedAt"] <= newest["startedAt"]
