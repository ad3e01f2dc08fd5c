"""Interaction and catalog files (CSV or Parquet) -> the dense-index arrays recommenders work on.

The one place the offline tools see external ids: they become indices here and go back through
`Dataset.user_ids` / `Dataset.item_ids`. Only the documented columns are read, every optional one has a
default, and any file the loader cannot use raises `DataError` naming the file and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recoms.recommenders.base import CART, PURCHASE, VIEW, Interactions, Items

EVENTS = {"view": VIEW, "cart": CART, "purchase": PURCHASE}
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}


class DataError(ValueError):
    """A file the loader cannot use: unknown format, missing column, unreadable values."""


@dataclass
class Dataset:
    """Interactions and catalog on dense indices, with the external id of every index."""

    interactions: Interactions
    items: Items
    user_ids: np.ndarray  # index -> external user id (str)
    item_ids: np.ndarray  # index -> external item id (str)

    def user_index(self) -> dict[str, int]:
        return {uid: i for i, uid in enumerate(self.user_ids)}

    def item_index(self) -> dict[str, int]:
        return {iid: i for i, iid in enumerate(self.item_ids)}


def read_table(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """A CSV or Parquet file (by extension) with every column as text, stripped; `required` must exist."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            raise DataError(f"{path.name}: unknown file type {suffix!r}, expected .csv or .parquet")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path.name}: cannot read ({exc})") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(frame.columns) or "none"
        raise DataError(f"{path.name}: missing column(s) {', '.join(missing)} (found: {found})")
    for column in required:
        ids = _text(frame[column])
        if (ids == "").any():
            raise DataError(f"{path.name}: {int((ids == '').sum())} row(s) with an empty {column}")
        frame[column] = ids
    return frame


def _text(column: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(column) and column.dropna().mod(1).eq(0).all():
        column = column.astype("Int64")  # Parquet ids stored as floats: "12", not "12.0"
    return column.astype(str).where(column.notna(), "").str.strip()


def parse_timestamps(column: pd.Series, name: str = "timestamp") -> np.ndarray:
    """Epoch seconds, milliseconds (or finer) or ISO dates -> int64 epoch milliseconds."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return _datetimes_ms(column, name)
    numbers = pd.to_numeric(column, errors="coerce")
    blank = column.isna() | (column.astype(str).str.strip() == "")
    if blank.any():
        raise DataError(f"{name}: {int(blank.sum())} row(s) without a timestamp")
    if numbers.notna().all():
        values = numbers.to_numpy(np.float64)
        magnitude = np.median(np.abs(values)) if len(values) else 0.0
        scale = 1e3 if magnitude < 1e11 else 1.0 if magnitude < 1e14 else 1e-3 if magnitude < 1e17 else 1e-6
        return np.round(values * scale).astype(np.int64)
    try:
        parsed = pd.to_datetime(column.astype(str).str.strip(), utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name}: neither epoch numbers nor ISO dates ({exc})") from exc
    return _datetimes_ms(parsed, name)


def _datetimes_ms(column: pd.Series, name: str) -> np.ndarray:
    if column.isna().any():
        raise DataError(f"{name}: {int(column.isna().sum())} row(s) without a timestamp")
    if getattr(column.dt, "tz", None) is None:
        column = column.dt.tz_localize("UTC")
    return column.dt.tz_convert("UTC").astype("datetime64[ms, UTC]").astype("int64").to_numpy(np.int64)


def _numbers(frame: pd.DataFrame, column: str, default: float, file: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default, np.float32)
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        raise DataError(f"{file}: {int(bad.sum())} non-numeric value(s) in {column}, e.g. {raw[bad].iloc[0]!r}")
    return values.fillna(default).to_numpy(np.float32)


def _events(frame: pd.DataFrame, file: str) -> np.ndarray:
    if "event" not in frame.columns:
        return np.full(len(frame), PURCHASE, np.int8)
    words = _text(frame["event"]).str.lower().replace("", "purchase")
    unknown = sorted(set(words.unique()) - set(EVENTS))
    if unknown:
        raise DataError(f"{file}: unknown event(s) {', '.join(unknown[:5])}; expected view, cart or purchase")
    return words.map(EVENTS).to_numpy(np.int8)


def load_dataset(interactions_path: Path, items_path: Path | None = None) -> Dataset:
    """Read the interactions (and the catalog): users and items get indices in order of appearance.

    Items only in the catalog come after the interacted ones. Without `timestamp`, file order is time
    order; without `basket_id`, a user's purchases at one timestamp are one basket (without either, all of
    a user's purchases are one basket).
    """
    file = Path(interactions_path).name
    frame = read_table(Path(interactions_path), ("user_id", "item_id"))
    catalog = read_table(Path(items_path), ("item_id",)) if items_path else None
    user_codes, user_ids = pd.factorize(frame["user_id"])
    catalog_ids = catalog["item_id"] if catalog is not None else pd.Series([], dtype=str)
    item_ids = pd.Index(pd.concat([frame["item_id"], catalog_ids], ignore_index=True).unique())
    item_codes = item_ids.get_indexer(frame["item_id"])
    if "timestamp" in frame.columns:
        ts = parse_timestamps(frame["timestamp"], f"{file}: timestamp")
    else:
        ts = np.arange(len(frame), dtype=np.int64)
    kind = _events(frame, file)
    interactions = Interactions(
        user=user_codes.astype(np.int32), item=item_codes.astype(np.int32), kind=kind, ts=ts,
        quantity=_numbers(frame, "quantity", 1.0, file),
        basket=_baskets(frame, user_codes, ts, kind == PURCHASE),
        n_users=len(user_ids), n_items=len(item_ids),
    )
    items = build_items(catalog, item_ids, Path(items_path).name if items_path else "")
    return Dataset(interactions, items, np.asarray(user_ids, dtype=object), np.asarray(item_ids, dtype=object))


def _baskets(frame: pd.DataFrame, users: np.ndarray, ts: np.ndarray, purchase: np.ndarray) -> np.ndarray:
    """Order index of each purchase (-1 for other events): basket_id, else the purchases at one time."""
    owner = pd.Series(users).astype(str) + "@"
    if "basket_id" in frame.columns:  # keyed by user too: a basket id is never shared by two users
        ids = pd.Series(_text(frame["basket_id"]).to_numpy())
        keys = owner + ids.where(ids != "", "@" + pd.Series(ts).astype(str))
    elif "timestamp" in frame.columns:
        keys = owner + "@" + pd.Series(ts).astype(str)
    else:  # neither order ids nor times: nothing tells a user's orders apart
        keys = owner
    baskets = np.full(len(frame), -1, np.int64)
    baskets[purchase] = pd.factorize(keys[purchase])[0]
    return baskets


def build_items(catalog: pd.DataFrame | None, item_ids: pd.Index, file: str = "") -> Items:
    """Catalog attributes aligned with the item indices; unknown items get the `Items.bare` defaults."""
    n = len(item_ids)
    items = Items.bare(n)
    if catalog is None or len(catalog) == 0:
        return items
    catalog = catalog.drop_duplicates("item_id", keep="last")
    rows = item_ids.get_indexer(catalog["item_id"])
    if "price" in catalog.columns:
        items.price[rows] = _numbers(catalog, "price", np.nan, file)
    if "in_stock" in catalog.columns:
        items.in_stock[rows] = _flags(catalog["in_stock"], file)
    if "brand" in catalog.columns:
        brands = _text(catalog["brand"])
        codes, _ = pd.factorize(brands.str.lower().where(brands != ""))
        items.brand[rows] = codes.astype(np.int32)
    if "category" in catalog.columns:
        _fill_categories(items, rows, _text(catalog["category"]))
    names = _text(catalog["name"]) if "name" in catalog.columns else pd.Series([""] * len(catalog))
    brands = _text(catalog["brand"]) if "brand" in catalog.columns else pd.Series([""] * len(catalog))
    text = (names.reset_index(drop=True) + " " + brands.reset_index(drop=True)).str.strip()
    for row, value in zip(rows, text, strict=True):
        items.text[row] = value
    return items


def _flags(column: pd.Series, file: str) -> np.ndarray:
    words = _text(column).str.lower()
    bad = ~words.isin(TRUE_WORDS | FALSE_WORDS | {""})
    if bad.any():
        raise DataError(f"{file}: in_stock must be true/false, got {words[bad].iloc[0]!r}")
    return ~words.isin(FALSE_WORDS).to_numpy()


def _fill_categories(items: Items, rows: np.ndarray, paths: pd.Series) -> None:
    """'a > b > c': the item belongs to every level; names are lower-cased and shared across paths."""
    path_codes, unique_paths = pd.factorize(paths)
    codes: dict[str, int] = {}
    levels_per_path = []
    for path in unique_paths:
        names = [part.strip().lower() for part in str(path).split(">") if part.strip()]
        levels_per_path.append([codes.setdefault(name, len(codes)) for name in names])
    items.category_names = list(codes)
    levels = [levels_per_path[c] for c in path_codes]
    lengths = np.fromiter((len(lv) for lv in levels), np.int64, len(levels))
    cols = np.fromiter((c for lv in levels for c in lv), np.int64, int(lengths.sum()))
    matrix = sp.csr_matrix(
        (np.ones(len(cols), np.float32), (np.repeat(rows, lengths), cols)), shape=(items.n, len(codes))
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    items.categories = matrix
    items.leaf_category[rows] = [lv[-1] if lv else -1 for lv in levels]
