"""Many rows into one table through the driver: COPY on PostgreSQL, executemany on SQLite.

SQLAlchemy's per-row processing (bind processors, JSON serialisation) cost 3-4x the insert itself on the
ingestion path (measured: 43 µs a row against 12 on SQLite; COPY takes 12 µs a row against 41 for
executemany on PostgreSQL). Rows are tuples in the order of `columns`, JSON already as text.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa


def insert_rows(conn: sa.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert rows in the caller's transaction; a driver error comes back as SQLAlchemy's (an
    IntegrityError stays an IntegrityError, so callers retry as they would for any insert)."""
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        sql = f"COPY {table} ({names}) FROM STDIN"
        raw = conn.connection.driver_connection
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except raw.Error as exc:  # the same exception a statement through SQLAlchemy would raise
            raise sa.exc.DBAPIError.instance(sql, None, exc, type(raw).Error) from exc
        return
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
    raw = conn.connection.driver_connection
    try:  # the driver's cursor takes the rows as they are (lists too): no copy, no SQLAlchemy on the way
        raw.executemany(sql, rows)
    except raw.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, type(raw).Error) from exc
