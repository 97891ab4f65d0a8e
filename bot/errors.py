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


class DatabaseError(BotError):
    """The back office's database (the conversation log, operators, jobs, ...) could not
    be read or written."""


class UnknownReplyError(InputError):
    """Feedback names a reply the log has no record of."""


def check_unicode(text: str, field: str) -> str:
    """`text` if it is real Unicode; InputError for lone surrogates (JSON's "\\ud800"), which
    no encoder, database or log can write."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{field} is not valid Unicode text (a lone surrogate)") from None
    return text
