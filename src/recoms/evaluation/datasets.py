"""The public data sets of docs/quality.md, converted to the documented interaction and catalog columns.

Nothing here downloads: `scripts/fetch_quality_data.py` fetches the files once (`make quality`) and
calls these converters, which write `interactions.csv` and `items.csv` into one folder per data set.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd


def read_atomic(path: Path) -> pd.DataFrame:
    """A RecBole atomic file: tab-separated, headers typed as `name:type` (the type is dropped)."""
    frame = pd.read_csv(path, sep="\t", dtype=str, quoting=csv.QUOTE_NONE, keep_default_na=False)
    frame.columns = [c.split(":", 1)[0] for c in frame.columns]
    return frame


def convert_ml100k(source: Path, out: Path) -> dict[str, int]:
    """MovieLens 100K from RecBole's atomic files: every rating is an interaction at its timestamp."""
    ratings = read_atomic(Path(source) / "ml-100k.inter")
    movies = read_atomic(Path(source) / "ml-100k.item")
    interactions = ratings[["user_id", "item_id", "timestamp"]]
    genres = movies["class"].str.split(" ").str[0].fillna("")
    items = pd.DataFrame({
        "item_id": movies["item_id"],
        "name": (movies["movie_title"] + " (" + movies["release_year"] + ")").str.replace(" ()", ""),
        "category": genres,
    })
    return _write(out, interactions, items)


def convert_complete_journey(source: Path, out: Path) -> dict[str, int]:
    """84.51° The Complete Journey: each transaction line is a purchase of its basket.

    Items get department > commodity > sub-commodity as category, the brand (national or private label)
    and the median unit price seen (sales value / quantity over lines with both positive).
    """
    lines = pd.read_parquet(Path(source) / "transactions.parquet")
    products = pd.read_parquet(Path(source) / "products.parquet")
    stamp = pd.to_datetime(lines["transaction_timestamp"])
    interactions = pd.DataFrame({
        "user_id": lines["household_id"].astype(str),
        "item_id": lines["product_id"].astype(str),
        "timestamp": (stamp.astype("datetime64[s]").astype("int64")).to_numpy(),
        "basket_id": lines["basket_id"].astype(str),
        "quantity": lines["quantity"].to_numpy(),
    })
    priced = lines[(lines["quantity"] > 0) & (lines["sales_value"] > 0)]
    unit_price = (priced["sales_value"] / priced["quantity"]).groupby(priced["product_id"]).median().round(2)
    levels = [
        products[column].fillna("").astype(str).str.strip()
        for column in ("department", "product_category", "product_type")
    ]
    category = levels[0].str.cat(levels[1:], sep=" > ").str.replace(r"( > )+$", "", regex=True)
    items = pd.DataFrame({
        "item_id": products["product_id"].astype(str),
        "name": (levels[2] + " " + products["package_size"].fillna("").astype(str)).str.strip(),
        "brand": products["brand"].fillna("").astype(str),
        "category": category.str.replace(r"^( > )+", "", regex=True),
        "price": products["product_id"].map(unit_price).to_numpy(np.float64),
    })
    return _write(out, interactions, items)


def _write(out: Path, interactions: pd.DataFrame, items: pd.DataFrame) -> dict[str, int]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    interactions.to_csv(out / "interactions.csv", index=False)
    items.to_csv(out / "items.csv", index=False)
    return {
        "users": int(interactions["user_id"].nunique()), "items": int(interactions["item_id"].nunique()),
        "interactions": len(interactions),
        "baskets": int(interactions["basket_id"].nunique()) if "basket_id" in interactions else 0,
        "catalog_items": len(items),
    }
