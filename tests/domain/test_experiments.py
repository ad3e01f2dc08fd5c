"""The experiment statistics against a case computed by hand (formulas written out, no scipy)."""

from __future__ import annotations

import math

import pytest

from recoms.domain import experiments

Z = 1.959963984540054  # the 97.5 % quantile of the standard normal


def wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def test_ctr_interval_is_wilsons():
    # 30 clicks of 1000 impressions: 3 %, Wilson interval [2.109 %, 4.250 %].
    est = experiments.proportion(30, 1000)
    low, high = wilson(30, 1000)
    assert est.value == 0.03
    assert est.low == pytest.approx(low, abs=1e-9) and est.high == pytest.approx(high, abs=1e-9)
    assert (round(est.low, 5), round(est.high, 5)) == (0.02109, 0.0425)


def test_two_proportion_z_test_by_hand():
    # Control 30/1000, challenger 50/1000: pooled 4 %, z = 0.02 / sqrt(0.04 * 0.96 * 0.002) = 2.2822.
    p = experiments.two_proportion_p(50, 1000, 30, 1000)
    z = 0.02 / math.sqrt(0.04 * 0.96 * (2 / 1000))
    by_hand = math.erfc(z / math.sqrt(2))  # two-sided: 2 * (1 - Phi(|z|))
    assert z == pytest.approx(2.2822, abs=1e-4)
    assert p == pytest.approx(by_hand, rel=1e-9)
    assert p == pytest.approx(0.02248, abs=1e-5)
    report = experiments.compare([experiments.ArmCounts(0, "A", 50, impressions=1000, clicks=30),
                                  experiments.ArmCounts(1, "B", 50, impressions=1000, clicks=50)])
    assert report[1]["vsControl"]["ctr"] == {"p": p, "significant": True}
    assert "vsControl" not in report[0]


def test_mean_interval_and_welch_by_hand():
    # Revenue per impression: 4 impressions with 10, 0, 0, 6 credited: mean 4, sample variance 72/3 = 24.
    values = [10.0, 0.0, 0.0, 6.0]
    est = experiments.mean(sum(values), sum(v * v for v in values), len(values))
    t975_3df = 3.182446305284263
    half = t975_3df * math.sqrt(24 / 4)
    assert est.value == 4.0
    assert est.low == pytest.approx(4 - half) and est.high == pytest.approx(4 + half)
    # Welch: the same against 4 zeros and one 2 (mean 0.4, variance 0.8): t and df by hand.
    other = [0.0, 0.0, 0.0, 0.0, 2.0]
    p = experiments.welch_p(sum(values), sum(v * v for v in values), 4, sum(other), sum(v * v for v in other), 5)
    v1, v2 = 24 / 4, 0.8 / 5
    t = (4 - 0.4) / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 ** 2 / 3 + v2 ** 2 / 4)
    from scipy import stats  # only for the t distribution's tail: the statistic above is by hand

    assert p == pytest.approx(2 * stats.t.sf(t, df), rel=1e-9)


def test_no_data_gives_no_numbers():
    assert experiments.proportion(0, 0).value is None
    assert experiments.two_proportion_p(0, 0, 1, 10) is None
    assert experiments.two_proportion_p(0, 10, 0, 10) is None  # nothing happened on either side
    assert experiments.mean(0, 0, 0).value is None
    assert experiments.welch_p(0, 0, 5, 0, 0, 5) is None
    assert experiments.proportion(12, 10).value == 1.0  # clicks reported without their impressions
