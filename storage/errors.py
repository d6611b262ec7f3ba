"""The root of Triage's one exception tree, and the storage layer's branch of it.

Every layer's exceptions derive from `TriageError`, so a caller catches one base; each
message is one sentence saying what to do next. The tree::

    TriageError                 anything the user must fix; `str(error)` is shown as is
    ├── StorageError            the cache cannot do what was asked (storage.db)
    │   ├── DatabaseUnreachable, DataDirNotWritable, …
    ├── ConfigError, NotFound   (core.errors)
    ├── DeployError, GitError, DockerError, …   (core.sites)
    └── TrackerError, …         (core.tracker)
"""

from __future__ import annotations


class TriageError(Exception):
    """Something the user must fix; the message says what and how."""


class StorageError(TriageError):
    """The cache cannot do what was asked; the message says what to do next."""
