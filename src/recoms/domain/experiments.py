"""The statistics of an A/B experiment (no I/O): per variant, rates with 95 % intervals and the
significance of each challenger's difference to the control.

Units: an impression is one product shown in one served list; CTR = clicks / impressions;
conversion = credited orders / impressions; revenue per impression = credited revenue / impressions.

Tests (scipy.stats), stated as `METHODS` says:
- CTR and conversion: Wilson score 95 % interval (`binomtest(...).proportion_ci(method="wilson")`);
  difference to the control: two-sided two-proportion z-test with a pooled proportion (`norm.sf`).
- Revenue per impression: Student t 95 % interval of the mean of the revenue credited to each impression
  (most are 0); difference to the control: Welch's t-test (`ttest_ind_from_stats(equal_var=False)`).
Impressions are treated as independent trials (contacts are randomised, and a contact sees several lists:
the intervals are somewhat narrow when a few contacts make most impressions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
METHODS = (
    "CTR and conversion: Wilson score 95 % intervals, two-sided two-proportion z-test (pooled) against the "
    "control; revenue per impression: Student t 95 % interval, Welch's t-test against the control "
    "(scipy.stats); significant: p < 0.05"
)


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None

    def to_json(self) -> dict[str, float | None]:
        return {"value": self.value, "low": self.low, "high": self.high}


NONE = Estimate(None, None, None)


def proportion(k: int, n: int) -> Estimate:
    """k successes of n trials: the rate with its Wilson score interval."""
    if n <= 0:
        return NONE
    k = max(0, min(k, n))  # a click reported without its impression cannot make a rate above 1
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return Estimate(k / n, float(ci.low), float(ci.high))


def two_proportion_p(k1: int, n1: int, k0: int, n0: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test of k1/n1 against k0/n0."""
    if n1 <= 0 or n0 <= 0:
        return None
    k1, k0 = min(k1, n1), min(k0, n0)
    pooled = (k1 + k0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    if se == 0:
        return None
    z = (k1 / n1 - k0 / n0) / se
    return float(2 * stats.norm.sf(abs(z)))


def _mean_var(total: float, total_sq: float, n: int) -> tuple[float, float]:
    mean = total / n
    var = max(0.0, (total_sq - n * mean * mean) / (n - 1)) if n > 1 else 0.0
    return mean, var


def mean(total: float, total_sq: float, n: int) -> Estimate:
    """The mean of n values given their sum and sum of squares, with its Student t interval."""
    if n <= 0:
        return NONE
    m, var = _mean_var(total, total_sq, n)
    if n < 2:
        return Estimate(m, None, None)
    half = float(stats.t.ppf(1 - ALPHA / 2, n - 1)) * math.sqrt(var / n)
    return Estimate(m, m - half, m + half)


def welch_p(total1: float, sq1: float, n1: int, total0: float, sq0: float, n0: int) -> float | None:
    """Two-sided p-value of Welch's t-test of two means given by sums and sums of squares."""
    if n1 < 2 or n0 < 2:
        return None
    m1, v1 = _mean_var(total1, sq1, n1)
    m0, v0 = _mean_var(total0, sq0, n0)
    if v1 == 0 and v0 == 0:
        return None
    result = stats.ttest_ind_from_stats(m1, math.sqrt(v1), n1, m0, math.sqrt(v0), n0, equal_var=False)
    p = float(result.pvalue)
    return None if math.isnan(p) else p


@dataclass
class ArmCounts:
    """What was counted for one variant over a period."""

    variant_id: int
    name: str
    share: float
    served: int = 0
    impressions: int = 0
    clicks: int = 0
    orders: int = 0
    revenue: float = 0.0
    revenue_sq: float = 0.0  # the sum of squares of the revenue credited to each impression


def _p_json(p: float | None) -> dict[str, Any]:
    return {"p": p, "significant": p is not None and p < ALPHA}


def arm_report(arm: ArmCounts, control: ArmCounts | None) -> dict[str, Any]:
    """One variant's figures, and (for a challenger) its differences to the control."""
    n = arm.impressions
    out: dict[str, Any] = {
        "id": arm.variant_id, "name": arm.name, "share": arm.share, "served": arm.served,
        "impressions": n, "clicks": arm.clicks, "orders": arm.orders, "revenue": round(arm.revenue, 2),
        "ctr": proportion(arm.clicks, n).to_json(),
        "conversion": proportion(arm.orders, n).to_json(),
        "revenuePerImpression": mean(arm.revenue, arm.revenue_sq, n).to_json(),
    }
    if control is not None and control is not arm:
        c = control
        out["vsControl"] = {
            "ctr": _p_json(two_proportion_p(arm.clicks, n, c.clicks, c.impressions)),
            "conversion": _p_json(two_proportion_p(arm.orders, n, c.orders, c.impressions)),
            "revenuePerImpression": _p_json(welch_p(arm.revenue, arm.revenue_sq, n,
                                                    c.revenue, c.revenue_sq, c.impressions)),
        }
    return out


def compare(arms: list[ArmCounts]) -> list[dict[str, Any]]:
    """Every variant's report; the control is variant 0 when present."""
    control = next((a for a in arms if a.variant_id == 0), None)
    return [arm_report(a, control) for a in arms]
