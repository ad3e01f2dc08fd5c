"""What the console's pages show, shaped from the services' answers (charts included); no I/O."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from recoms.console.charts import PALETTE, Bar, Series, count, interval_chart, line_chart, money, percent


def _color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def datasource_analytics(report: dict[str, Any]) -> dict[str, Any]:
    """The analytics page of a data source: by day (impressions and clicks, CTR, revenue) and the variants
    side by side with their intervals."""
    daily = report["daily"]
    labels = [d["date"][5:] for d in daily]
    arms = report["variants"]
    colors = {str(a["id"]): _color(i) for i, a in enumerate(arms)}
    many = len(arms) > 1

    def per_variant(field: str) -> list[Series]:
        return [Series(f"{a['name']}", [d["byVariant"].get(str(a["id"]), {}).get(field, 0) for d in daily],
                       colors[str(a["id"])]) for a in arms]

    def ctr_series() -> list[Series]:
        out = []
        for a in arms:
            key = str(a["id"])
            values = []
            for d in daily:
                cell = d["byVariant"].get(key, {})
                values.append(cell["clicks"] / cell["impressions"] if cell.get("impressions") else None)
            out.append(Series(a["name"], values, colors[key]))
        return out

    clicks = [Series(f"{s.name} clicks", s.values, s.color, dashed=True) for s in per_variant("clicks")]
    traffic = (per_variant("impressions") + clicks if many else
               [Series("impressions", [d["impressions"] for d in daily], _color(0)),
                Series("clicks", [d["clicks"] for d in daily], _color(1), dashed=True)])
    charts = [
        line_chart("Impressions and clicks by day", "traffic", labels, traffic, count),
        line_chart("CTR by day", "ctr", labels, ctr_series() if many else
                   [Series("CTR", [d["ctr"] for d in daily], _color(0))], percent),
        line_chart("Credited revenue by day", "revenue", labels, per_variant("revenue") if many else
                   [Series("revenue", [d["revenue"] for d in daily], _color(2))], money),
    ]
    comparisons = [
        interval_chart("CTR per variant (95 % interval)", "variants-ctr", _bars(arms, "ctr", colors), percent),
        interval_chart("Conversion per variant (orders per impression)", "variants-conversion",
                       _bars(arms, "conversion", colors), percent),
        interval_chart("Revenue per impression per variant", "variants-rpi",
                       _bars(arms, "revenuePerImpression", colors), money),
    ]
    return {"charts": charts, "comparisons": comparisons, "colors": colors}


def _bars(arms: list[dict[str, Any]], field: str, colors: dict[str, str]) -> list[Bar]:
    return [Bar(a["name"], a[field]["value"], a[field]["low"], a[field]["high"], colors[str(a["id"])]) for a in arms]


def revenue_chart(report: dict[str, Any]) -> Markup:
    labels = [d["date"][5:] for d in report["daily"]]
    return line_chart("Revenue credited to recommendations by day", "shop-revenue", labels,
                      [Series("revenue", [d["recommendationRevenue"] for d in report["daily"]], _color(2))], money)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f} %"


def p_value(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("p") is None:
        return "–"
    p = entry["p"]
    text = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    return f"{text} (significant)" if entry["significant"] else text
