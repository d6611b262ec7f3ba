"""The exceptions of the service layer; each message is one sentence saying what to do.

Exceptions (the root, TriageError, is in triage.storage.errors: one tree for every layer)::

    TriageError             anything the user must fix; `str(error)` is shown as is
    ├── ConfigError         the config file or a TRIAGE_* variable is wrong
    └── NotFound            a ticket, column or site named by the user does not exist
"""

from __future__ import annotations

from triage.storage.errors import TriageError


class ConfigError(TriageError):
    """The configuration file or an environment override is wrong."""


class NotFound(TriageError):
    """A ticket, column or site the user named does not exist."""
