"""A small error hierarchy; each layer raises its own subclass, the HTTP layer maps them once."""


class BotError(Exception):
    """Base class for every error faqbot raises on purpose."""


class IngestError(BotError):
    """A corpus file could not be read or parsed."""


class IndexStoreError(BotError):
    """The index is missing, corrupt or does not match the embedding model."""


class EmbeddingError(BotError):
    """The embedding model could not be loaded or used."""


class InputError(BotError):
    """A visitor message or request is unusable (empty, too long, not text)."""


class LogStoreError(BotError):
    """The conversation log could not be read or written."""


class UnknownReplyError(InputError):
    """Feedback names a reply the log has no record of."""
