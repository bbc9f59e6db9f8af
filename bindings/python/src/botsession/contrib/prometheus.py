"""An engine's counters (``Engine.stats()``) as Prometheus metrics, through prometheus_client::

    from prometheus_client import start_http_server
    from botsession.contrib import prometheus

    prometheus.register(engine)            # the default registry, names botsession_*
    start_http_server(9100)

Every scrape reads the counters once (no polling thread). The counts are Prometheus counters
(``botsession_commits_total``, ``botsession_conflicts_total``, ...), the wait time
``botsession_lock_wait_seconds_total``, and the store latency a gauge per quantile
(``botsession_store_latency_seconds{quantile="0.5"|"0.99"|"1"}``) with
``botsession_store_operations_total``. Give each engine of a process its own ``namespace``
(or registry): two collectors with the same names are refused by prometheus_client.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional

try:
    from prometheus_client import REGISTRY
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    from prometheus_client.registry import Collector
except ImportError as error:  # pragma: no cover - exercised without prometheus_client
    raise ImportError("botsession.contrib.prometheus needs prometheus_client: pip install prometheus-client") from error

from ..engine import Engine

_COUNTS = {
    "begins": "updates begun",
    "commits": "commits that succeeded",
    "rollbacks": "updates rolled back",
    "reads": "session reads from stores",
    "writes": "session values written, initial values included",
    "deletes": "sessions deleted by commits",
    "skipped_writes": "sessions read and left unchanged, so not written",
    "conflicts": "CONFLICT results: another writer came first",
    "busy": "BUSY results: a key or store stayed locked",
    "chat_migrations": "chats whose sessions moved to a new chat id",
    "chat_migrations_skipped": "chat migrations skipped because the new chat had sessions",
}


class EngineCollector(Collector):
    """A prometheus_client collector of one engine's counters."""

    def __init__(self, engine: Engine, namespace: str = "botsession") -> None:
        self.engine = engine
        self.namespace = namespace

    def collect(self) -> Iterator[Any]:
        stats = self.engine.stats()
        n = self.namespace
        for name, help_text in _COUNTS.items():
            if name in stats:
                yield CounterMetricFamily(f"{n}_{name}", help_text, value=stats[name])
        yield CounterMetricFamily(f"{n}_lock_wait_seconds", "time begin waited for keys other updates held",
                                  value=stats["lock_wait_ms"] / 1000)
        latency = stats["store_latency_us"]
        yield CounterMetricFamily(f"{n}_store_operations", "store operations timed (reads, commits)",
                                  value=latency["count"])
        gauge = GaugeMetricFamily(f"{n}_store_latency_seconds", "store operation latency (quantile 1 is the maximum)",
                                  labels=["quantile"])
        for quantile, key in (("0.5", "p50"), ("0.99", "p99"), ("1", "max")):
            gauge.add_metric([quantile], latency[key] / 1e6)
        yield gauge


def register(engine: Engine, registry: Optional[Any] = None, namespace: str = "botsession") -> EngineCollector:
    """Registers ``engine``'s counters with ``registry`` (prometheus_client's default registry
    when None) under ``namespace``; returns the collector (``registry.unregister(it)`` removes
    it)."""
    collector = EngineCollector(engine, namespace)
    (REGISTRY if registry is None else registry).register(collector)
    return collector
