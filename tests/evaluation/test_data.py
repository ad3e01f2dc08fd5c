"""Loading interaction and catalog files with only the documented columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recoms.evaluation.data import DataError, load_dataset, parse_timestamps
from recoms.recommenders.base import CART, PURCHASE, VIEW


def write(path, text: str):
    path.write_text(text)
    return path


def test_only_the_required_columns(tmp_path):
    data = load_dataset(write(tmp_path / "i.csv", "user_id,item_id\nu1,a\nu2,b\nu1,b\n"))
    inter = data.interactions
    assert list(data.user_ids) == ["u1", "u2"] and list(data.item_ids) == ["a", "b"]
    assert inter.user.tolist() == [0, 1, 0] and inter.item.tolist() == [0, 1, 1]
    assert inter.ts.tolist() == [0, 1, 2]  # file order is time order
    assert (inter.kind == PURCHASE).all() and inter.quantity.tolist() == [1, 1, 1]
    assert inter.basket.tolist() == [0, 1, 0]  # no times nor order ids: a user's purchases are one basket
    assert data.items.n == 2


@pytest.mark.parametrize(("values", "expected"), [
    (["1700000000", "1700000001"], [1_700_000_000_000, 1_700_000_001_000]),  # seconds
    (["1700000000123", "1700000000124"], [1_700_000_000_123, 1_700_000_000_124]),  # milliseconds
    (["2023-11-14T22:13:20Z", "2023-11-14"], [1_700_000_000_000, 1_699_920_000_000]),  # ISO
])
def test_timestamps_are_detected(values, expected):
    assert parse_timestamps(pd.Series(values)).tolist() == expected


def test_unreadable_timestamps_are_refused():
    with pytest.raises(DataError, match="ISO"):
        parse_timestamps(pd.Series(["yesterday", "2023-11-14"]))


def test_events_baskets_and_quantities(tmp_path):
    path = write(tmp_path / "i.csv", (
        "user_id,item_id,timestamp,event,quantity\n"
        "u1,a,100,view,\n"
        "u1,a,200,purchase,2\n"
        "u1,b,200,purchase,1\n"
        "u1,c,300,cart,1\n"
        "u2,a,200,,3\n"
    ))
    inter = load_dataset(path).interactions
    assert inter.kind.tolist() == [VIEW, PURCHASE, PURCHASE, CART, PURCHASE]
    assert inter.quantity.tolist() == [1, 2, 1, 1, 3]
    basket = inter.basket.tolist()
    assert basket[0] == -1 and basket[3] == -1
    assert basket[1] == basket[2] != basket[4]  # same user and time: one order; another user: another


def test_basket_ids_when_given(tmp_path):
    path = write(tmp_path / "i.csv", "user_id,item_id,basket_id\nu1,a,o1\nu1,b,o1\nu1,c,o2\nu2,a,o1\n")
    basket = load_dataset(path).interactions.basket.tolist()
    assert basket[0] == basket[1] and len({basket[0], basket[2], basket[3]}) == 3


def test_catalog_attributes(tmp_path):
    inter = write(tmp_path / "i.csv", "user_id,item_id\nu1,a\nu1,b\n")
    items = write(tmp_path / "items.csv", (
        "item_id,name,brand,category,price,in_stock\n"
        "b,Banana,Chiquita,Food > Fruit,0.5,yes\n"
        "a,Apple juice,,Drinks > Fruit,1.25,false\n"
        "z,Zucchini,Farm,Food,,\n"
    ))
    data = load_dataset(inter, items)
    assert list(data.item_ids) == ["a", "b", "z"]  # catalog-only items come last
    it = data.items
    assert it.category_names == ["food", "fruit", "drinks"]
    assert it.leaf_category.tolist() == [1, 1, 0]
    assert it.categories.toarray().tolist() == [[0, 1, 1], [1, 1, 0], [1, 0, 0]]
    assert np.isnan(it.price[2]) and it.price[:2].tolist() == [1.25, 0.5]
    assert it.in_stock.tolist() == [False, True, True]
    assert it.brand[0] == -1 and it.brand[1] != it.brand[2]
    assert it.text[1] == "Banana Chiquita"


def test_parquet_with_integer_ids_and_datetimes(tmp_path):
    frame = pd.DataFrame({
        "user_id": [10, 11], "item_id": [7, 8],
        "timestamp": pd.to_datetime(["2023-11-14 22:13:20", "2023-11-14 22:13:21"]),
    })
    frame.to_parquet(tmp_path / "i.parquet")
    data = load_dataset(tmp_path / "i.parquet")
    assert list(data.user_ids) == ["10", "11"] and list(data.item_ids) == ["7", "8"]
    assert data.interactions.ts.tolist() == [1_700_000_000_000, 1_700_000_001_000]


@pytest.mark.parametrize(("text", "message"), [
    ("user,item_id\nu1,a\n", "missing column.*user_id"),
    ("user_id,item_id\nu1,\n", "empty item_id"),
    ("user_id,item_id,event\nu1,a,like\n", "unknown event.*like"),
    ("user_id,item_id,quantity\nu1,a,many\n", "non-numeric.*quantity"),
])
def test_bad_files_are_refused_with_the_reason(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_dataset(write(tmp_path / "i.csv", text))


def test_unknown_file_type(tmp_path):
    with pytest.raises(DataError, match="unknown file type"):
        load_dataset(write(tmp_path / "i.json", "{}"))
