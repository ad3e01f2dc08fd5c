"""/metrics: every request counted per method, route and status, its latency per route as a histogram."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from recoms.api.request_metrics import BUCKETS, RequestMetrics


def _samples(metrics: RequestMetrics) -> dict[tuple, float]:
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_requests_and_latency_read_as_prometheus_counters_and_histograms():
    metrics = RequestMetrics()
    for method, route, status, seconds in (("GET", "/a", 200, 0.0007), ("GET", "/a", 200, 0.001),
                                           ("POST", "/a", 400, 0.02), ("GET", "/b", 200, 7.5)):
        metrics.observe(method, route, status, seconds)
    samples = _samples(metrics)
    assert samples[("recoms_http_requests_total", (("method", "GET"), ("route", "/a"), ("status", "200")))] == 2
    assert samples[("recoms_http_requests_total", (("method", "POST"), ("route", "/a"), ("status", "400")))] == 1

    def bucket(route: str, le: str) -> float:
        return samples[("recoms_http_request_seconds_bucket", (("le", le), ("route", route)))]

    # cumulative, a bound counting what is at most it: 0.001 falls in le=0.001
    assert [bucket("/a", le) for le in ("0.0005", "0.001", "0.0025", "0.025", "+Inf")] == [0, 2, 2, 3, 3]
    assert bucket("/b", "5.0") == 0 and bucket("/b", "+Inf") == 1
    assert samples[("recoms_http_request_seconds_count", (("route", "/a"),))] == 3
    assert abs(samples[("recoms_http_request_seconds_sum", (("route", "/a"),))] - 0.0217) < 1e-9
    assert len([k for k in samples if k[0] == "recoms_http_request_seconds_bucket"]) == 2 * (len(BUCKETS) + 1)


def test_a_method_the_client_made_up_is_one_series_whatever_it_is():
    metrics = RequestMetrics()
    for i in range(500):
        metrics.observe(f"BREW{i}", "unmatched", 405, 0.001)
    metrics.observe("GET", "unmatched", 405, 0.001)
    counted = {k: v for k, v in _samples(metrics).items() if k[0] == "recoms_http_requests_total"}
    assert counted == {
        ("recoms_http_requests_total", (("method", "other"), ("route", "unmatched"), ("status", "405"))): 500,
        ("recoms_http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "405"))): 1,
    }


def test_the_app_counts_what_it_answers(client):
    def counted(method: str) -> float:
        text = client.get("/metrics").text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("recoms_http_requests_total{") and f'method="{method}"' in line
                   and 'route="/healthz"' in line)

    before = counted("other"), counted("GET")
    assert client.request("BREW", "/healthz").status_code == 405
    assert client.get("/healthz").status_code == 200
    assert (counted("other"), counted("GET")) == (before[0] + 1, before[1] + 1)
    assert 'method="BREW"' not in client.get("/metrics").text
