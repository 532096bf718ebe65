"""Domain errors raised by the index layer; the CLI and the HTTP app map them to messages once."""

from __future__ import annotations


class FootnoteError(Exception):
    """Base of every error Footnote reports to a user instead of a stack trace."""

    code = "footnote_error"


class DocumentLoadError(FootnoteError):
    """A file could not be read as a document; the message names the file (and line)."""

    code = "invalid_document"


class DocumentNotFoundError(FootnoteError):
    """No document with the requested id is stored."""

    code = "document_not_found"


class StoreCorruptError(FootnoteError):
    """The store on disk failed an integrity check and will not be served."""

    code = "store_corrupt"


class StoreMismatchError(FootnoteError):
    """The store was built with settings (such as the embedding model) that differ from the current ones."""

    code = "store_mismatch"


class IndexUnavailableError(FootnoteError):
    """The external index (Milvus) cannot be reached or failed a call; the store itself is unharmed."""

    code = "index_unavailable"


class IndexOutOfSyncError(StoreCorruptError):
    """The external index does not mirror the store (a write was cut short): `footnote index rebuild` repairs it."""

    code = "index_out_of_sync"


class ReadOnlyReplicaError(FootnoteError):
    """A document change was sent to a read-only replica; only the writer changes documents."""

    code = "read_only_replica"
