"""Each protocol on hand-made data whose split is known row by row."""

from __future__ import annotations

import numpy as np
import pytest

from recoms.evaluation.splits import split
from recoms.recommenders.base import VIEW
from tests.evaluation.builders import interactions, pairs


def rows_of(fold) -> set[tuple[int, int]]:
    return set(zip(fold.train.user.tolist(), fold.train.item.tolist(), strict=True))


def targets_of(fold) -> dict[int, set[int]]:
    coo = fold.targets.tocoo()
    out: dict[int, set[int]] = {}
    for r, c in zip(coo.row, coo.col, strict=True):
        out.setdefault(int(fold.users[r]), set()).add(int(c))
    return out


# user 0: items 0,1,2,3 in time order (written out of order); user 1: two interactions only;
# user 2: three interactions, the last one an item nobody else has (9); user 3: two interactions.
LEAVE_LAST = interactions([
    (0, 2, 30), (0, 0, 10), (0, 3, 40), (0, 1, 20),
    (1, 0, 5), (1, 4, 6),
    (2, 1, 1), (2, 4, 2), (2, 9, 3),
    (3, 2, 7), (3, 3, 8),
])


def test_leave_last_out_holds_out_the_last_and_the_one_before():
    validation, test = split(LEAVE_LAST, "leave_last_out")
    assert targets_of(test) == {0: {3}}  # user 2's test item 9 is in no training data: user dropped
    assert targets_of(validation) == {0: {2}, 2: {4}}
    assert rows_of(test) == {(0, 0), (0, 1), (0, 2), (1, 0), (1, 4), (2, 1), (2, 4), (3, 2), (3, 3)}
    assert rows_of(validation) == {(0, 0), (0, 1), (1, 0), (1, 4), (2, 1), (3, 2), (3, 3)}
    assert pairs(test.exclude) == {(0, 0), (0, 1), (0, 2)}  # the user's training items are not ranked


def test_leave_last_out_keeps_users_with_fewer_than_three_in_training():
    validation, test = split(LEAVE_LAST, "leave_last_out")
    assert 1 not in test.users and 1 not in validation.users
    assert {(1, 0), (1, 4)} <= rows_of(validation)


def test_leave_last_out_breaks_timestamp_ties_by_file_order():
    data = interactions([(0, 0, 1), (0, 1, 1), (0, 2, 1), (1, 0, 1), (1, 1, 1), (1, 2, 1), (2, 2, 1), (2, 1, 1)])
    validation, test = split(data, "leave_last_out")
    assert targets_of(test) == {0: {2}, 1: {2}}
    assert targets_of(validation) == {0: {1}, 1: {1}}


def test_random_80_20_takes_a_fifth_of_each_user_then_carves_validation_alike():
    others = [(3 + i, i, 0) for i in range(10)]  # one interaction each: every item known in training
    rows = [(0, i, i) for i in range(10)] + [(1, 0, 1), (1, 1, 2)] + [(2, 3, 1)] + others
    data = interactions(rows)
    validation, test = split(data, "random_80_20", seed=3)
    test_items = targets_of(test)
    assert len(test_items[0]) == 2  # 20 % of 10
    assert len(test_items[1]) == 1  # at least one for a user with two
    assert 2 not in test.users  # one interaction: training only
    assert len(targets_of(validation)[0]) == 2  # round(20 % of the remaining 8)
    assert 1 not in validation.users  # one interaction left: nothing to carve
    assert not test_items[0] & targets_of(validation)[0]
    assert targets_of(split(data, "random_80_20", seed=3)[1]) == test_items  # seeded


def test_random_80_20_depends_on_the_seed():
    data = interactions([(0, i, i) for i in range(50)] + [(1 + i, i, 0) for i in range(50)])
    draws = {frozenset(targets_of(split(data, "random_80_20", seed=s)[1])[0]) for s in range(5)}
    assert len(draws) > 1


# user 0: three orders (baskets 0, 1, 2); user 1: two orders only; user 2: three orders whose last
# one only repeats earlier purchases, plus a view.
BASKETS = interactions([
    (0, 0, 10, 3, 0), (0, 1, 10, 3, 0),
    (0, 1, 20, 3, 1), (0, 2, 20, 3, 1),
    (0, 1, 30, 3, 2), (0, 3, 30, 3, 2),
    (1, 0, 10, 3, 3), (1, 2, 10, 3, 3), (1, 3, 20, 3, 4),
    (2, 0, 10, 3, 5), (2, 2, 20, 3, 6), (2, 4, 25, VIEW, -1), (2, 2, 30, 3, 7), (2, 0, 30, 3, 7),
])


def test_last_basket_repeat_ranks_everything_and_counts_rebuys():
    validation, test = split(BASKETS, "last_basket_repeat")
    assert targets_of(test) == {0: {1, 3}, 2: {0, 2}}
    assert targets_of(validation) == {0: {1, 2}, 2: {2}}
    assert test.exclude.nnz == 0
    assert 1 not in test.users  # two orders: training only
    assert (2, 4) in rows_of(test)  # views stay in training


def test_last_basket_new_masks_earlier_purchases_and_counts_first_buys_only():
    validation, test = split(BASKETS, "last_basket_new")
    assert targets_of(test) == {0: {3}}  # user 2 only re-bought: no first purchase to find
    assert pairs(test.exclude) == {(0, 0), (0, 1), (0, 2)}
    assert targets_of(validation) == {0: {2}, 2: {2}}


def test_last_basket_new_does_not_mask_items_only_viewed():
    data = interactions([
        (0, 5, 1, VIEW, -1), (0, 0, 10, 3, 0), (0, 1, 20, 3, 1), (0, 5, 30, 3, 2), (1, 5, 5, 3, 3),
    ])
    _, test = split(data, "last_basket_new")
    assert targets_of(test) == {0: {5}}


def test_basket_completion_hides_one_item_of_each_test_basket():
    data = interactions([
        (0, 0, 10, 3, 0), (0, 1, 10, 3, 0), (0, 2, 10, 3, 0),
        (0, 0, 20, 3, 1), (0, 3, 20, 3, 1),
        (0, 1, 30, 3, 2), (0, 2, 30, 3, 2), (0, 3, 30, 3, 2),
        (1, 0, 10, 3, 3), (1, 3, 10, 3, 3), (1, 1, 20, 3, 4), (1, 5, 30, 3, 5), (1, 9, 30, 3, 5),
    ])
    validation, test = split(data, "basket_completion", seed=1)
    assert list(test.users) == [0]  # user 1's last basket has no item known in training
    (context,) = test.contexts
    (hidden,) = targets_of(test)[0]
    assert set(context.tolist()) | {hidden} == {1, 2, 3} and hidden not in context
    assert pairs(test.exclude) == {(0, int(i)) for i in context}
    assert validation.contexts is not None and len(validation) == 1
    repeat = split(data, "basket_completion", seed=1)[1]
    assert targets_of(repeat) == targets_of(test)


def test_unknown_protocol_is_refused():
    with pytest.raises(ValueError, match="unknown protocol"):
        split(LEAVE_LAST, "leave_one_in")


def test_train_items_are_those_with_training_data():
    _, test = split(LEAVE_LAST, "leave_last_out")
    assert np.flatnonzero(test.train_items()).tolist() == [0, 1, 2, 3, 4]
