"""Every shop's personal tunes itself on its own newest orders: hand-made shops, what each one gets."""

from __future__ import annotations

from recoms.recommenders.base import PURCHASE, Query
from recoms.recommenders.personal import Personal
from recoms.training import tuning
from tests.training.shops import build, discoverers, rebuyers, viewers

BUDGET = 60.0  # seconds; these shops tune in well under one


def test_a_shop_whose_customers_buy_again_gets_a_repeat_heavy_personal():
    inter, items = rebuyers()
    model, report = tuning.tune(Personal, inter, items, budget=BUDGET)
    assert report.status in {"tuned", "defaults"}
    assert model.params["repeat_weight"] >= 0.5 and model.params["exclude_purchased"] is False
    figures = report.figures
    assert figures["chosen"]["ndcg"] >= figures["buy_again"]["ndcg"] > figures["popularity"]["ndcg"]
    # A customer's staples come back first.
    staples = inter.item[(inter.user == 0) & (inter.basket == 0)][:3]
    history = inter.select(inter.user == 0)
    query = Query(history_items=history.item, history_kinds=history.kind, history_ts=history.ts,
                  now_ms=int(inter.ts.max()))
    ids, scores = model.recommend([query])[0]
    top = set(ids[scores.argsort()[::-1][:3]].tolist())
    assert top == set(staples.tolist())


def test_a_shop_whose_customers_never_buy_again_gets_discovery():
    inter, items = discoverers()
    model, report = tuning.tune(Personal, inter, items, budget=BUDGET)
    assert model.params["repeat_weight"] == 0.0 and model.params["exclude_purchased"] is True
    assert report.figures["chosen"]["ndcg"] > report.figures["popularity"]["ndcg"]
    # The best of what the customer may still buy: the rest of its room (items 0-5), never what it has.
    history = inter.select(inter.user == 0)
    query = Query(history_items=history.item, history_kinds=history.kind, history_ts=history.ts)
    ids, scores = model.recommend([query])[0]
    allowed = model.constraint(query)(ids)
    ids, scores = ids[allowed], scores[allowed]
    assert not set(ids.tolist()) & set(history.item.tolist())
    assert set(ids[scores.argsort()[::-1][:2]].tolist()) == set(range(6)) - set(history.item.tolist())


def test_too_little_data_keeps_the_defaults_and_says_so():
    rows = [(u, item, day, PURCHASE, u * 10 + day) for u in range(5) for day, item in enumerate((1, 2, 1))]
    inter, items = build(rows, 4)
    model, report = tuning.tune(Personal, inter, items, budget=BUDGET)
    assert report.status == "too little data" and "too little data" in report.note
    assert model.params == Personal.default_params and report.chosen == {}


def test_explicit_params_win_and_are_not_tuned():
    inter, items = rebuyers()
    explicit = {"repeat_weight": 0.1, "exclude_purchased": True, "l2": 50.0}
    model, report = tuning.tune(Personal, inter, items, explicit=explicit, budget=BUDGET)
    assert {k: model.params[k] for k in explicit} == explicit
    assert report.explicit == explicit and {k: report.params[k] for k in explicit} == explicit


def test_no_tuning_time_serves_the_shops_regime_defaults():
    inter, items = rebuyers()
    model, report = tuning.tune(Personal, inter, items, budget=0.0)
    assert report.status == "not tuned" and report.figures == {}
    assert model.params["exclude_purchased"] is False and model.params["repeat_weight"] > 0.5


def test_each_customers_last_order_is_what_tuning_predicts():
    inter, items = rebuyers(orders=3)
    _, report = tuning.tune(Personal, inter, items, budget=BUDGET)
    assert report.holdout == "each contact's last order (60 contacts)"


def test_a_shop_that_only_knows_views_is_tuned_on_its_last_days_of_views():
    inter, items = viewers()
    model, report = tuning.tune(Personal, inter, items, budget=BUDGET)
    assert report.holdout == "items newly viewed in the last 7 days (80 contacts)"
    assert model.params["repeat_weight"] == 0.0 and model.params["half_life_events"] > 0  # the latest views lead
    assert report.figures["chosen"]["ndcg"] > report.figures["popularity"]["ndcg"]
