"""Who "me" is: the configured Jira account, as Jira's `/myself` names it, kept per account.

One answer serves everything that says "me": the author recorded on each change, the
account a pusher sends for, "assign to me" and the `@me` filter. It is stored in the cache
under the configured account (Jira URL and user), so members sharing one PostgreSQL cache
each keep their own; it is learnt whenever Triage talks to Jira as that account (login,
doctor, sync, push). Until then a change records the account it was made under, so only
that account's pusher sends it; the demo's "me" and the config's `me` fill in the name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from triage.core.config import Settings
from triage.core.tracker.client import Tracker
from triage.storage import queries

LOGIN_PREFIX = "login:"
"""Marks an author id that names a configured account Jira has not yet named."""


@dataclass(frozen=True)
class Identity:
    """Who is using Triage: the name Jira shows, the id Jira takes, and the author id."""

    name: str
    account_id: str | None = None
    author_id: str = ""
    """What outbox rows record as their author: the account id, else the login mark."""

    def authors(self) -> list[str]:
        """The author ids of changes this identity sends: its own, by id or by login."""
        found = [self.author_id, ""]
        if self.account_id and self.account_id != self.author_id:
            found.append(self.account_id)
        return found


def login_mark(settings: Settings) -> str:
    """A stable id of the configured account (Jira URL and user), for the cache's keys."""
    account = f"{settings.jira.url.rstrip('/')}|{settings.jira.user}"
    return LOGIN_PREFIX + hashlib.sha256(account.encode()).hexdigest()[:32]


def _meta_key(settings: Settings) -> str:
    return "identity:" + login_mark(settings).removeprefix(LOGIN_PREFIX)


def from_myself(settings: Settings, me: Mapping[str, Any]) -> Identity:
    """The identity in a `/myself` answer: display name, and accountId (Cloud) or name (DC)."""
    account = str(me.get("accountId") or me.get("name") or "") or None
    name = str(me.get("displayName") or me.get("name") or "") or settings.me or "me"
    return Identity(name, account, account or login_mark(settings))


def remember(engine: Engine, settings: Settings, me: Mapping[str, Any]) -> Identity:
    """Store who the configured account is, from a `/myself` answer; that identity."""
    identity = from_myself(settings, me)
    value = json.dumps({"name": identity.name, "account_id": identity.account_id})
    with engine.begin() as connection:
        queries.set_meta(connection, _meta_key(settings), value)
    return identity


def resolve(engine: Engine, settings: Settings, tracker: Tracker) -> Identity:
    """Ask Jira who the tracker's credentials belong to, and remember it."""
    return remember(engine, settings, tracker.myself())


def current(engine: Engine, settings: Settings) -> Identity:
    """Who "me" is now, without asking Jira: the stored identity of the configured account.

    Before Jira has named the account: the config's `me`, else the demo's, with the login
    mark as author id so the change waits for this account's pusher.
    """
    raw = queries.get_meta(engine, _meta_key(settings))
    if raw:
        stored = json.loads(raw)
        account = stored.get("account_id") or None
        return Identity(str(stored.get("name") or "me"), account, account or login_mark(settings))
    name = settings.me or queries.get_meta(engine, "me_name") or "me"
    account = queries.get_meta(engine, "me_id") or None
    if settings.jira.url:
        return Identity(name, None, login_mark(settings))
    return Identity(name, account, account or "")
