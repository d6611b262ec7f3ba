"""The Jira account in force: URL and user from the config, the token from the keyring or env.

A token is never printed, logged or stored in the cache: it lives in the OS keyring
(`triage login`) or in TRIAGE_JIRA_TOKEN where there is no keyring.
"""

from __future__ import annotations

import os

from triage.core.config import Settings
from triage.core.errors import ConfigError
from triage.core.tracker.client import Credentials, Flavour, JiraTracker

KEYRING_SERVICE = "triage"
TOKEN_ENV = "TRIAGE_JIRA_TOKEN"


def _keyring_user(settings: Settings) -> str:
    return f"{settings.jira.url.rstrip('/')}|{settings.jira.user}"


def stored_token(settings: Settings) -> str | None:
    """The token for this server and user: TRIAGE_JIRA_TOKEN, else the OS keyring."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    try:
        import keyring
        from keyring.errors import KeyringError

        return keyring.get_password(KEYRING_SERVICE, _keyring_user(settings))
    except (ImportError, KeyringError, RuntimeError):
        return None


def store_token(settings: Settings, token: str) -> None:
    """Keep the token in the OS keyring; ConfigError when there is none."""
    try:
        import keyring
        from keyring.errors import KeyringError

        keyring.set_password(KEYRING_SERVICE, _keyring_user(settings), token)
    except (ImportError, KeyringError, RuntimeError) as error:
        raise ConfigError(
            f"no OS keyring is available here ({type(error).__name__}): "
            f"set {TOKEN_ENV} in the environment instead"
        ) from None


def credentials(settings: Settings) -> Credentials:
    """URL, user and token for Jira; ConfigError saying what is missing."""
    if not settings.jira.url:
        raise ConfigError(
            "no Jira server is configured: set [jira] url in the config file "
            "(see `triage config`), or try `triage demo`"
        )
    if not settings.jira.url.startswith(("http://", "https://")):
        raise ConfigError(
            f"jira.url {settings.jira.url!r} is not an http(s) URL: "
            "use e.g. https://example.atlassian.net"
        )
    token = stored_token(settings)
    if not token:
        raise ConfigError(
            f"no Jira token for {settings.jira.url}: run `triage login` or set {TOKEN_ENV}"
        )
    return Credentials(settings.jira.url, token, settings.jira.user)


def connect(settings: Settings) -> JiraTracker:
    """A tracker for the configured Jira (asks serverInfo only when the flavour is auto)."""
    flavour: Flavour | None = (
        None if settings.jira.deployment == "auto" else settings.jira.deployment
    )
    return JiraTracker(credentials(settings), flavour)
