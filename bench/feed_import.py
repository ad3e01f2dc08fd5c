"""Quick check of feed-import speed and memory: writes an N-item GMC RSS feed to a temp file, then
streams it through `read_feed` (format detection included) and prints items/s and peak RSS.

    .venv/bin/python bench/feed_import.py [--items 100000]

Peak RSS is read before and after parsing: flat memory shows as a small growth, whatever N.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from recoms.catalog import FeedError, read_feed

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n<channel>\n'
    "<title>Bench shop</title><link>https://shop.example</link><description>bench</description>\n"
)
FOOTER = "</channel>\n</rss>\n"
ITEM = """<item>
  <g:id>SKU-{n}</g:id>
  <title>Product number {n} &amp; friends</title>
  <description>A reasonably long description of product {n}, as real feeds carry one.</description>
  <link>https://shop.example/p/{n}</link>
  <g:image_link>https://shop.example/img/{n}.jpg</g:image_link>
  <g:availability>{availability}</g:availability>
  <g:price>{price:.2f} USD</g:price>
  <g:brand>Brand {brand}</g:brand>
  <g:product_type>Home &gt; Kitchen &gt; Pans {brand}</g:product_type>
  <g:google_product_category>{category}</g:google_product_category>
  <g:condition>new</g:condition>
  <g:color>black</g:color>
  <g:size>M</g:size>
</item>
"""


def write_feed(path: Path, items: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(items):
            availability = "out of stock" if n % 7 == 0 else "in stock"
            out.write(
                ITEM.format(
                    n=n,
                    availability=availability,
                    price=n % 1000 + 0.99,
                    brand=n % 50,
                    category=500000 + n % 300,
                )
            )
        out.write(FOOTER)


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def import_into_store(path: Path, tmp: Path) -> None:
    """What `recoms feed import` does: parse, batch upserts, mark missing products unavailable."""
    from recoms.services.accounts import create_account
    from recoms.services.feeds import import_location
    from recoms.store.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp}/bench.db")
    migrate(engine)
    account = create_account(engine, "bench", "extra")["account_id"]
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    report = import_location(engine, account, str(path))
    elapsed = time.perf_counter() - started
    rss_after = peak_rss_mib()
    print(f"imported {report.items_ok:,} products ({report.items_bad} bad) into SQLite in {elapsed:.1f} s: "
          f"{report.items_ok / elapsed:,.0f} items/s")
    print(f"peak RSS: {rss_before:.1f} MiB before the import, {rss_after:.1f} MiB after "
          f"(+{rss_after - rss_before:.1f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--store", action="store_true",
                        help="the whole import (recoms feed import) into a temporary SQLite store")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.xml"
        started = time.perf_counter()
        write_feed(path, args.items)
        print(
            f"wrote {args.items:,} items, {os.path.getsize(path) / 2**20:.1f} MiB, "
            f"in {time.perf_counter() - started:.1f} s"
        )

        if args.store:
            import_into_store(path, Path(tmp))
            return
        rss_before = peak_rss_mib()
        products = errors = 0
        started = time.perf_counter()
        with path.open("rb") as stream:
            for record in read_feed(stream):
                if isinstance(record, FeedError):
                    errors += 1
                else:
                    products += 1
        elapsed = time.perf_counter() - started
        rss_after = peak_rss_mib()

    print(
        f"parsed {products:,} products, {errors} errors in {elapsed:.2f} s: {products / elapsed:,.0f} items/s"
    )
    print(
        f"peak RSS: {rss_before:.1f} MiB before parsing, {rss_after:.1f} MiB after "
        f"(+{rss_after - rss_before:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
