"""Prometheus metrics at /metrics (prometheus-client): requests by route and status,
latency histograms, replies by kind and channel (fallback and urgent rates follow),
conversation-log write failures, and the index being served.

`faqbot serve --workers N` gives its workers one PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode): each worker writes its counts there and every scrape, whichever worker
answers it, reports the server's totals. The index, and `faqbot_worker_info`, are the
answering process's own."""

from __future__ import annotations

import glob
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import Scope

from bot.errors import DatabaseError
from bot.models import Reply
from bot.recorder import ExchangeRecorder

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


class _ServedIndex:
    """A collector of the index this process serves (not kept in the multiprocess files,
    where a replaced build's labels would stay), and of which worker answered the scrape."""

    def __init__(self) -> None:
        self.manifest = None

    def collect(self):
        family = GaugeMetricFamily("faqbot_index_info", "The index being served (value: "
                                   "chunks)", labels=["built_at", "model"])
        if self.manifest is not None:
            family.add_metric([self.manifest.built_at, self.manifest.model_id],
                              self.manifest.chunks)
        yield family
        worker = GaugeMetricFamily("faqbot_worker_info", "The worker process that answered "
                                   "this scrape", labels=["pid"])
        worker.add_metric([str(os.getpid())], 1)
        yield worker


class _WorkersCounts(MultiProcessCollector):
    """Every worker's counts, from the multiprocess folder, leaving out a file a worker is
    still creating: prometheus-client makes it empty before it sizes it, and reading it
    fails the whole scrape (a worker killed then would leave it there for good:
    prometheus/client_python#1199, open in 0.26)."""

    def collect(self):
        files = []
        for path in glob.glob(os.path.join(self._path, "*.db")):
            try:
                if os.path.getsize(path) > 0:  # (once sized, it is read as written)
                    files.append(path)
            except FileNotFoundError:
                continue
        return self.merge(files, accumulate=True)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("faqbot_http_requests_total", "HTTP requests",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("faqbot_http_request_seconds", "HTTP request latency",
                                 ["route"], registry=self.registry,
                                 buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
        self.replies = Counter("faqbot_replies_total", "Replies by kind and channel",
                               ["kind", "channel"], registry=self.registry)
        self.log_failures = Counter("faqbot_log_write_failures_total",
                                    "Exchanges the conversation log database refused "
                                    "(spooled to disk, written later)",
                                    registry=self.registry)
        self.own = CollectorRegistry()
        self.index = _ServedIndex()
        self.own.register(self.index)

    def observe_request(self, scope: Scope, status: int, seconds: float) -> None:
        """One HTTP request, by its route's template (not its path: bounded labels)."""
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        self.requests.labels(route, scope["method"], str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_index(self, manifest) -> None:
        self.index.manifest = manifest

    def exposition(self) -> bytes:
        counts = self.registry
        if os.environ.get(MULTIPROCESS_DIR):  # every worker's counts, summed
            counts = CollectorRegistry()
            _WorkersCounts(counts)
        return generate_latest(counts) + generate_latest(self.own)


class CountingRecorder:
    """The bot's exchange recorder, counting each reply by kind and channel on its way to
    the conversation log (and each write the log refused)."""

    def __init__(self, inner: ExchangeRecorder | None, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def record_exchange(self, question: str, reply: Reply, channel: str,
                        latency_ms: float) -> None:
        self.metrics.replies.labels(reply.kind, channel).inc()
        if self.inner is None:
            return
        try:
            self.inner.record_exchange(question, reply, channel, latency_ms)
        except DatabaseError:
            self.metrics.log_failures.inc()
            raise

    def record_feedback(self, reply_id: str, rating: str, comment: str | None = None) -> None:
        if self.inner is None:
            raise DatabaseError("no conversation log; feedback is not recorded")
        self.inner.record_feedback(reply_id, rating, comment)
