"""What a snapshot's tuning found, told to the shop: `recoms train` prints it, the quality endpoint serves it.

The figures are held-out ones (`tuning`): the shop's newest orders predicted by models fitted on the
rest, next to what the simplest answers (the bestsellers, the contact's usual items) score on them.
"""

from __future__ import annotations

from typing import Any

from recoms.domain.datasource import DataSource

BASELINES = {"popularity": "popularity", "buy_again": "buy again"}


def _figure(values: dict[str, float] | None) -> str:
    if not values:
        return "—"
    return f"NDCG@10 {values['ndcg']:.4f} · HR@10 {values['hr']:.4f}"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or "the defaults"


def lines(meta: dict[str, Any]) -> list[str]:
    """A readable account of one account's training: its regime, then per algorithm what was chosen."""
    out = [f"account {meta['account_id']}: {meta.get('regime', {}).get('description', '')}"]
    seconds = meta.get("seconds", {})
    if "untuned" in seconds:
        out.append(f"  training {seconds['untuned']:.1f}s, tuning {seconds.get('tuning', 0.0):.1f}s")
    for name, report in meta.get("quality", {}).items():
        out.append(f"  {name}: {report['status']} ({report['note']}) — {_params(report['chosen'])}")
        figures = report.get("figures", {})
        if figures:
            out.append(f"    held out: {report['holdout']}")
            out.append(f"      {name:<12} {_figure(figures.get('chosen'))}")
            for key, label in BASELINES.items():
                if key in figures:
                    out.append(f"      {label:<12} {_figure(figures[key])}")
        for variant in report.get("variants", []):
            when = _params(variant["when"])
            out.append(f"    with {when}: {_params(variant['chosen'])} — {_figure(variant['figures'].get('chosen'))}"
                       f" (buy again {_figure(variant['figures'].get('buy_again'))})")
    return out


def for_datasource(meta: dict[str, Any] | None, ds: DataSource) -> dict[str, Any]:
    """The quality of one data source: its algorithm's tuning, the params it serves, their held-out figures."""
    algorithm = ds.params.get("plugin", "") if ds.algorithm == "custom" else ds.algorithm
    explicit = {k: v for k, v in ds.params.items() if k != "plugin"}
    body: dict[str, Any] = {"datasource": ds.id, "algorithm": algorithm, "explicitParams": explicit}
    report = (meta or {}).get("quality", {}).get(algorithm)
    if meta is None:
        return {**body, "status": "untrained", "note": "the account has no snapshot yet"}
    body["snapshot"] = meta.get("version")
    body["regime"] = meta.get("regime", {}).get("description", "")
    if report is None:
        return {**body, "status": "not tuned", "note": f"{algorithm} has no params to tune"}
    params = dict(report["params"])
    figures = dict(report.get("figures", {}))
    holdout = report.get("holdout", "")
    for variant in report.get("variants", []):  # a data source that treats bought items the other way
        if all(explicit.get(k) == v for k, v in variant["when"].items()):
            params.update(variant["chosen"])
            figures = dict(variant["figures"])
            holdout = variant.get("holdout", holdout)
    params.update(explicit)
    own = report.get("extra", {}).get(str(ds.id))
    if own is not None:
        figures["chosen"] = own
    return {**body, "status": report["status"], "note": report["note"], "holdout": holdout,
            "params": params, "tunedParams": report["chosen"],
            "heldOut": {("served" if key == "chosen" else key): figures[key]
                        for key in ("chosen", *BASELINES) if key in figures}}
