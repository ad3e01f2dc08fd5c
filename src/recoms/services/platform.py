"""Every service of one process, wired once from the settings (API and CLI alike)."""

from __future__ import annotations

from dataclasses import dataclass

from recoms.services.accounts import AccountDirectory
from recoms.services.answer_cache import AnswerCache
from recoms.services.attribution import RecommendationLog
from recoms.services.context import Context, build_context
from recoms.services.datasources import DataSources
from recoms.services.ingest_queue import IngestQueue
from recoms.services.limits import Limits
from recoms.services.recoms import Recommendations
from recoms.services.serving import ServingEngine
from recoms.settings import Settings
from recoms.store.db import DEPENDENCY_ERRORS, dependency_down

# What the API answers 503 for: the store or the token store not answering (the drivers' errors).
__all__ = ["DEPENDENCY_ERRORS", "Platform", "build_platform", "dependency_down"]


@dataclass
class Platform:
    ctx: Context
    directory: AccountDirectory
    datasources: DataSources
    serving: ServingEngine
    recommendations: Recommendations
    limits: Limits
    ingest_queue: IngestQueue
    # Served lists, numbered on the hot path and written in batches (services/attribution.py).
    recommendation_log: RecommendationLog

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def engine(self):
        return self.ctx.engine

    def not_ready(self) -> list[str]:
        """What does not answer: the database, the token store (empty when ready)."""
        down = []
        for name, check in (("the database", self._ping_database), ("the token store", self.ctx.tokens.ping)):
            try:
                check()
            except Exception as exc:  # readiness reports any failure, whatever its kind
                down.append(f"{name} ({type(exc).__name__})")
        return down

    def _ping_database(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def close(self) -> None:
        self.recommendations.stop()
        self.ingest_queue.stop()
        self.recommendation_log.close()
        self.serving.stop()
        self.ctx.close()


def build_platform(settings: Settings) -> Platform:
    ctx = build_context(settings)
    directory = AccountDirectory(ctx.engine)
    datasources = DataSources(ctx.engine)
    serving = ServingEngine(ctx.engine, settings.artifacts_path, settings.snapshot_poll_seconds)
    limits = Limits(settings.rate_limit_per_key_per_second, settings.rate_limit_per_site_per_second,
                    settings.auth_failures_per_minute)
    log = RecommendationLog(ctx.engine, settings.recommendation_log, settings.recommendation_log_flush_seconds)
    recommendations = Recommendations(ctx.engine, datasources, serving, ctx.tokens, directory, log,
                                      AnswerCache(settings.answer_cache_entries), ctx.connections,
                                      AnswerCache(settings.contact_answer_cache_entries))
    return Platform(ctx, directory, datasources, serving, recommendations, limits, IngestQueue(ctx.engine), log)
