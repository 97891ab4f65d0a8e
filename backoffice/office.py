"""The back office as one object: the database, opened once from the settings, and every
store over it. The CLI's commands and the web app take what they need from here."""

from __future__ import annotations

from pathlib import Path

from backoffice.apikeys import ApiKeyStore
from backoffice.audit import AuditLog
from backoffice.batch import BatchStore
from backoffice.builds import BuildStore
from backoffice.conversations import ConversationLog
from backoffice.curation import CuratedStore
from backoffice.database import Database
from backoffice.documents import DocumentStore
from backoffice.guidance_store import GuidanceStore
from backoffice.jobs import JobQueue
from backoffice.operators import OperatorStore
from backoffice.review import Review
from backoffice.synonym_store import SynonymStore
from bot.config import Settings


class BackOffice:
    def __init__(self, conversations: ConversationLog, corpus_dir: Path,
                 job_stale_seconds: float = 60.0) -> None:
        database = conversations.database
        self.database = database
        self.conversations = conversations
        self.corpus_dir = corpus_dir
        self.operators = OperatorStore(database)
        self.review = Review(database)
        self.audit = AuditLog(database)
        self.api_keys = ApiKeyStore(database)
        self.jobs = JobQueue(database, job_stale_seconds)
        self.batch = BatchStore(database)
        self.builds = BuildStore(database)
        self.documents = DocumentStore(database, corpus_dir)
        self.curated = CuratedStore(database, corpus_dir)
        self.guidance = GuidanceStore(database, corpus_dir)
        self.synonyms = SynonymStore(database, corpus_dir)

    @classmethod
    def open(cls, settings: Settings) -> BackOffice:
        """The database the settings name (migrated to the latest schema) and its stores.
        A shared database's spool is this server's own (beside its index), never a file in
        whatever directory several servers were started from."""
        url = settings.log_database_url()
        spool = None if url.startswith("sqlite") else (
            settings.index_dir / "conversations.spool.jsonl")
        return cls(ConversationLog(Database(url), spool), settings.corpus_dir,
                   settings.job_stale_seconds)

    def export_knowledge(self) -> list:
        """Write what the database holds (curated answers, guidance, synonyms, uploaded
        documents) into the corpus directory, as a build reads it; the stored documents."""
        self.curated.export()
        self.guidance.export()
        self.synonyms.export()
        return self.documents.export()
