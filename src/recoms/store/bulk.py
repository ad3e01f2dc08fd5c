"""Many rows into tables through the driver: COPY on PostgreSQL (a multi-row INSERT for a few, with those for
other tables), multi-row VALUES lists on SQLite.

SQLAlchemy's per-row processing (bind processors, JSON serialisation) cost 3-4x the insert itself on the
ingestion path (measured: 43 µs a row against 12 on SQLite; COPY takes 12 µs a row against 41 for
executemany on PostgreSQL). Rows are tuples in the order of `columns`, JSON already as text.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from itertools import chain
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from recoms.store import tables

COPY_FROM = 200  # rows: fewer go in one multi-row INSERT on PostgreSQL (its parameters stay far under 65,535)


@functools.cache
def unnest_insert(table: str, columns: tuple[str, ...]) -> str:
    """INSERT ... SELECT FROM unnest(text arrays), each column cast from text to its type (a string column
    is assigned as text, so a value too long for it fails as it would in a VALUES list)."""
    cols = tables.metadata.tables[table].c
    dialect = postgresql.dialect()
    values = [f"c{i}" if isinstance(cols[c].type, sa.String) and not isinstance(cols[c].type, sa.Enum)
              else f"CAST(c{i} AS {cols[c].type.compile(dialect=dialect)})" for i, c in enumerate(columns)]
    arrays = ", ".join(["%s::text[]"] * len(columns))
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    return (f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM unnest({arrays}) AS u({names})")


class Rows(NamedTuple):
    """Rows for one table (tuples in the order of `columns`), and what follows the insert (ON CONFLICT ...)."""

    table: str
    columns: tuple[str, ...]
    rows: Sequence[Sequence]
    conflict: str = ""


def insert_together(conn: sa.Connection, parts: Sequence[Rows], then: Callable[[], None] | None = None) -> None:
    """Rows for several tables (one part each), in the caller's transaction. On PostgreSQL the parts of a
    few rows go in one statement (an insert per table, as data-modifying CTEs): one round trip for the
    new visitors, identifiers, carts, events and interactions of a group commit or before an identity
    slow path. Parts of many rows go by COPY, unless they resolve conflicts. `then` sends statements that
    follow (through the driver, no results read): on PostgreSQL in the same pipeline as that statement."""
    parts = [part for part in parts if part.rows]
    if conn.dialect.name != "postgresql":
        for part in parts:
            insert_rows(conn, part.table, part.columns, part.rows, part.conflict)
        if then is not None:
            then()
        return
    few: list[Rows] = []
    for part in parts:
        if len(part.rows) < COPY_FROM or part.conflict:
            few.append(part)
        else:
            insert_rows(conn, part.table, part.columns, part.rows)  # COPY: not in a pipeline
    with pipeline(conn) if then is not None else nullcontext():
        if len(few) == 1:
            insert_rows(conn, few[0].table, few[0].columns, few[0].rows, few[0].conflict)
        elif few:
            inserts = [f"{unnest_insert(part.table, part.columns)} {part.conflict}" for part in few]
            sql = "WITH " + ", ".join(f"p{i} AS ({sql})" for i, sql in enumerate(inserts[:-1])) + " " + inserts[-1]
            raw = conn.connection.driver_connection
            with as_sqlalchemy(sql, raw):
                raw.execute(sql, [text_array(column) for part in few for column in zip(*part.rows, strict=True)])
        if then is not None:
            then()


@contextmanager
def pipeline(conn: sa.Connection) -> Iterator[Any]:
    """PostgreSQL: the statements sent through the driver connection (yielded) inside go out together and
    are answered together at the end: one round trip. Their results are read after the block; an error
    comes back as SQLAlchemy's, at the end."""
    raw = conn.connection.driver_connection
    with as_sqlalchemy("(a pipeline)", raw), raw.pipeline():
        yield raw


def insert_rows(conn: sa.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence],
                conflict: str = "") -> None:
    """Insert rows in the caller's transaction; a driver error comes back as SQLAlchemy's (an
    IntegrityError stays an IntegrityError, so callers retry as they would for any insert)."""
    if not rows:
        return
    raw = conn.connection.driver_connection
    if conn.dialect.name != "postgresql":
        _insert_sqlite(raw, table, tuple(columns), rows, conflict)
    elif len(rows) < COPY_FROM or conflict:
        # One statement, one round trip (a COPY takes two): the few rows of a group commit of single events.
        # Its text is the same for any number of rows (one text array per column), so the driver parses it
        # once: a VALUES list per row count cost the writer a third of its time in psycopg's query parser.
        sql = f"{unnest_insert(table, tuple(columns))} {conflict}"
        with as_sqlalchemy(sql, raw):
            raw.execute(sql, [text_array(column) for column in zip(*rows, strict=True)])
    else:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with as_sqlalchemy(sql, raw), raw.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


# SQLite: rows a statement at most (a power of two). sqlite3 lets go of the GIL for each step of a statement,
# and executemany steps once a row: behind threads that parse requests, each step could cost the writer a
# wait of a switch interval (5 ms) for the GIL, and a group commit of 3,000 events took 240 ms for 90 ms
# of work. Multi-row VALUES lists of a few fixed lengths: a step per statement, each text prepared once.
SQLITE_ROWS_A_STATEMENT = 256


def _insert_sqlite(raw, table: str, columns: tuple[str, ...], rows: Sequence[Sequence], conflict: str) -> None:
    most = max(1, min(SQLITE_ROWS_A_STATEMENT, _sqlite_variables(raw) // len(columns)))
    start = 0
    while start < len(rows):
        count = min(most, 1 << ((len(rows) - start).bit_length() - 1))  # the largest power of two that fits
        sql = _sqlite_values_insert(table, columns, count, conflict)
        with as_sqlalchemy(sql, raw):
            raw.execute(sql, list(chain.from_iterable(rows[start:start + count])))
        start += count


@functools.cache
def _sqlite_values_insert(table: str, columns: tuple[str, ...], count: int, conflict: str) -> str:
    row = f"({', '.join('?' * len(columns))})"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * count)} {conflict}"


def _sqlite_variables(raw) -> int:
    """How many parameters one statement may have (999 before SQLite 3.32, 32,766 since, or as built)."""
    try:
        return raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except (AttributeError, sqlite3.Error):
        return 999


def json_text(value: Any) -> str:
    """A value as JSON text for a JSON column."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits (Python's parser keeps them)
        return json.dumps(value, ensure_ascii=False)


def text_array(values: Sequence) -> str:
    """A PostgreSQL text array literal: the driver's own list adapter quotes element by element with a
    regular expression, several times slower than these C string methods."""
    return "{" + ",".join(["NULL" if v is None else '"' + (v if type(v) is str else str(v)).replace(
        "\\", "\\\\").replace('"', '\\"') + '"' for v in values]) + "}"


@contextmanager
def as_sqlalchemy(sql: str, raw) -> Iterator[None]:
    """The driver's error as the exception the statement would raise through SQLAlchemy."""
    try:
        yield
    except raw.Error as exc:  # the connection's own attribute: sqlite3's class has only a descriptor there
        raise sa.exc.DBAPIError.instance(sql, None, exc, raw.Error) from exc


def one_of(conn: sa.Connection, column: str, values: Sequence, pg_type: str = "bigint") -> tuple[str, tuple]:
    """`column` is one of `values`, as SQL and its parameters: one array parameter on PostgreSQL (the
    statement's text is then the same for any number of values, so psycopg prepares it once instead of
    one statement per count), a list of them on SQLite (at most ~900: callers chunk)."""
    if conn.dialect.name == "postgresql":
        return f"{column} = ANY(%s::{pg_type}[])", (text_array(values),)
    return f"{column} IN ({', '.join('?' * len(values))})", tuple(values)
