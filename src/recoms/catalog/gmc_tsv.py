"""Google Merchant Center text feeds: TSV (tab-separated) and CSV (comma-separated, quoted).

The header row names the fields, with or without the `g:` prefix and in any case (`g:id`, `ID`,
`id` are all `id`); the field mapping is the GMC XML one (see `gmc_xml`), so the same catalog gives
the same products in XML and text. Multi-valued fields are written in one cell, comma-separated
(`additional_image_link`), and so come out as the same tag value as repeated XML elements; a
column name that repeats is joined the same way.

Both formats follow the csv module's quoting: a cell that starts with `"` is a quoted cell (as
spreadsheets export it), a `"` elsewhere in a cell is literal (`22" TV`). The stream is decoded as
UTF-8, a BOM tolerated, and read row by row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from recoms.catalog import FeedError, FeedRecord
from recoms.catalog.gmc_xml import add_field, clean_name, gmc_product

REQUIRED_COLUMNS = ("id", "title", "price")


def read_tsv(stream: BinaryIO) -> Iterator[FeedRecord]:
    yield from _read_delimited(stream, "\t")


def read_csv(stream: BinaryIO) -> Iterator[FeedRecord]:
    yield from _read_delimited(stream, ",")


def _read_delimited(stream: BinaryIO, delimiter: str) -> Iterator[FeedRecord]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield from _read_rows(csv.reader(text, delimiter=delimiter))
    except UnicodeDecodeError as exc:
        yield FeedError(-1, None, f"feed is not valid UTF-8: {exc}")
    finally:
        text.detach()  # the caller owns the binary stream: don't let the wrapper close it


def _read_rows(rows: Iterator[list[str]]) -> Iterator[FeedRecord]:
    try:
        header = next(rows, None)
    except csv.Error as exc:
        yield FeedError(-1, None, f"unreadable header row: {exc}")
        return
    if header is None:
        return
    names = [clean_name(column) for column in header]
    if missing := [column for column in REQUIRED_COLUMNS if column not in names]:
        yield FeedError(-1, None, f"the header row lacks the required column(s): {', '.join(missing)}")
        return

    index = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            # The csv reader starts afresh on the next line, so one broken row costs one item.
            yield FeedError(index, None, f"unreadable row: {exc}")
            index += 1
            continue
        if not any(cell.strip() for cell in row):
            continue  # blank lines are not items
        yield _row_record(index, names, row)
        index += 1


def _row_record(index: int, names: list[str], row: list[str]) -> FeedRecord:
    fields: dict[str, list[str]] = {}
    for name, cell in zip(names, row, strict=False):
        add_field(fields, name, cell)
    if any(cell.strip() for cell in row[len(names) :]):
        item_id = fields.get("id", [None])[0]
        return FeedError(index, item_id, f"the row has {len(row)} cells but the header only {len(names)}")
    return gmc_product(index, fields)
