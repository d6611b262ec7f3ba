"""One typed settings object: the TOML config file, overridden by `TRIAGE_*` variables."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from triage.core import paths
from triage.core.errors import ConfigError
from triage.core.redact import mask
from triage.core.sla.policy import PackagePolicy, QueueSettings, default_policies, problem
from triage.storage.columns import BoardColumn
from triage.storage.db import sqlite_url

SECRET_WORDS = ("token", "password", "secret")


class Section(BaseModel):
    """A table of the config file; unknown keys are mistakes."""

    # No infinity or NaN: `1e400` is a mistake, not a wish to wait forever.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class BoardSettings(Section):
    """How the board looks and what it shows."""

    done_window_days: int = Field(default=14, ge=0, le=3650)
    """Done shows tickets updated within this many days (at most ten years)."""
    focused_width: int = Field(default=44, ge=24, le=1000)
    """Width of the focused column when the nine columns do not fit."""
    min_column_width: int = Field(default=22, ge=16, le=1000)
    """Narrowest a column may be before the board collapses the unfocused ones."""


class JiraFields(Section):
    """Custom fields of the Jira project, by name or id (`customfield_10101`)."""

    site: str = "Site"
    """Field holding the site id; a `site:<id>` label works too."""
    client: str = "Client"
    """Field holding the client's name."""
    urgency: str = "Urgency"
    """Field holding the urgency."""
    severity: str = ""
    """Field holding the severity; empty means Jira's priority."""
    package: str = "Package"
    """Field holding the client's support package (optional: else the site's package)."""


class JiraSettings(Section):
    """The Jira server the cache mirrors."""

    url: str = ""
    """Base URL, e.g. https://example.atlassian.net."""
    user: str = ""
    """Cloud: the account email; Data Center with a personal access token: empty."""
    deployment: Literal["auto", "cloud", "dc"] = "auto"
    """Cloud or Data Center; auto asks serverInfo."""
    projects: list[str] = Field(default_factory=list)
    """Project keys to mirror."""
    jql: str = ""
    """A JQL query to mirror instead of whole projects."""
    status_map: dict[str, str] = Field(default_factory=dict)
    """Jira status name = board column, for statuses not named like a column."""
    fields: JiraFields = Field(default_factory=JiraFields)
    """Custom fields by name or id."""
    sync_interval_minutes: float = Field(default=5.0, gt=0, le=1440)
    """How often the TUI syncs in the background (at most once a day)."""
    deleted_scan_minutes: float = Field(default=60.0, gt=0, le=10080)
    """How often a sync also scans keys to find issues deleted or moved away (a week at most)."""
    resolution: str = "Done"
    """Resolution set by a move to a status whose transition asks for one."""
    push_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    """How long a pusher holds a change it sends (renewed while sending) before another
    may take it over, e.g. after a crash."""

    @field_validator("status_map")
    @classmethod
    def _columns_exist(cls, value: dict[str, str]) -> dict[str, str]:
        for status, column in value.items():
            try:
                BoardColumn.parse(column)
            except ValueError as error:
                raise ValueError(f"status {status!r}: {error}") from None
        return value


class SyncSettings(Section):
    """What a sync from Jira may do to the cache."""

    max_delete_share: float = Field(default=0.2, ge=0.0, le=1.0)
    """A sync that would delete more than this share of the cached tickets stops and says
    why; `triage sync --full --allow-deletes` lets it through once."""


class HealthSettings(Section):
    """How Triage watches the sites' health, and the incidents it opens."""

    envs: list[str] = Field(default_factory=lambda: ["prod"])
    """Environments checked unless sites.toml says otherwise for one (health.enabled)."""
    interval_seconds: float = Field(default=60.0, gt=0)
    """Seconds between two checks of a site."""
    retry_seconds: float = Field(default=10.0, gt=0)
    """Seconds before checking a failing site again (it is down after 3 failures in a row)."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    """A site that has not answered by then has failed."""
    slow_ms: int = Field(default=2000, gt=0)
    """A slower answer makes the site degraded."""
    concurrency: int = Field(default=20, ge=1, le=1000)
    """How many checks run at once."""
    keep_days: float = Field(default=7.0, gt=0)
    """Results older than this are pruned."""
    keep_per_site: int = Field(default=2000, ge=10)
    """At most this many results are kept per environment of a site."""
    ca_file: Path | None = None
    """Extra CA certificates (PEM) to trust, for sites behind an internal CA."""
    incident_project: str = ""
    """Jira project of incident tickets; default: the first of jira.projects."""
    incident_type: str = "Incident"
    """Issue type of incident tickets."""
    incident_priority: str = "Highest"
    """Priority of incident tickets."""


class IntakeClient(Section):
    """The client that writes from one mail domain, and its sites."""

    client: str
    """The client's name, as the Client field holds it."""
    sites: list[str] = Field(default_factory=list)
    """Site ids of this client; a new ticket gets the first as its site."""


class IntakeSettings(Section):
    """The support mailbox whose mails become tickets; its password is never kept here."""

    host: str = ""
    """IMAP server; empty means no mailbox (or use maildir)."""
    port: int = Field(default=993, ge=1, le=65535)
    """IMAP port: 993 with ssl, 143 without."""
    ssl: bool = True
    """IMAP over TLS."""
    user: str = ""
    """IMAP login; the password comes from TRIAGE_INTAKE_PASSWORD or the OS keyring."""
    folder: str = "INBOX"
    """Folder to read."""
    done_folder: str = ""
    """Move taken mails here; empty: leave them and mark them with a keyword."""
    maildir: Path | None = None
    """A Maildir to read instead of IMAP (for testing)."""
    project: str = ""
    """Project of new tickets; default: the first of jira.projects."""
    issue_type: str = "Task"
    """Issue type of new tickets."""
    domains: dict[str, IntakeClient] = Field(default_factory=dict)
    """Sender's mail domain = client and sites, e.g. "acme.example" = {client = "Acme"}."""
    poll_seconds: float = Field(default=60.0, gt=0, le=1740)
    """How long `intake --watch` waits between looks (IDLE wakes it sooner)."""


class RolloutStage(Section):
    """How far a rollout goes by itself for the sites of one support package."""

    to: Literal["test", "prod"] = "test"
    """test: update, deploy to the test site and stop; prod: on to production after the window."""
    window_hours: float = Field(default=24.0, ge=0, le=24 * 90)
    """Hours after the test site passed before production, as agreed with the client."""


class RolloutSettings(Section):
    """The rollout of an advisory across the fleet (`[security.rollout]`)."""

    project: str = ""
    """Jira project of the rollout's tickets; default: the first of jira.projects."""
    issue_type: str = "Task"
    max_parallel: int = Field(default=4, ge=1, le=64)
    """How many sites are updated at once, in all."""
    per_engine: int = Field(default=2, ge=1, le=64)
    """How many sites are updated at once on one Docker engine."""
    command_timeout_seconds: float = Field(default=900, gt=0, le=86400)
    """A `composer update` or `composer audit` that runs longer is stopped: the site fails."""
    packages: dict[str, RolloutStage] = Field(default_factory=dict)
    """Support package (the sites' `package`) = how far its sites go by themselves."""
    default: RolloutStage = Field(default_factory=RolloutStage)
    """For the sites of a package not listed: to the test site and stop."""
    package_order: list[str] = Field(default_factory=list)
    """Support packages served first, in this order (e.g. Platinum, Gold); others after."""

    def stage(self, package: str) -> RolloutStage:
        """How far the sites of a support package go."""
        return self.packages.get(package, self.default)


class SecuritySettings(Section):
    """Where advisories come from, and how the sites' composer.lock files are read."""

    feeds: dict[str, str] = Field(
        default_factory=lambda: {"packagist": "https://packagist.org/api/security-advisories/"}
    )
    """Feeds in the Packagist security-advisories shape: name = URL (drupal.org's for drupal/*)."""
    psa_url: str = "https://updates.drupal.org/psa.json"
    """Drupal's public service announcements (early warnings); empty: not polled."""
    first_poll_days: int = Field(default=90, ge=1, le=3650)
    """The first poll of a feed asks for advisories updated within this many days."""
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """A feed that has not answered by then is reported and skipped this time."""
    fetch_concurrency: int = Field(default=8, ge=1, le=64)
    """How many site repositories are fetched at once."""
    fetch_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    """A git command of a fleet refresh that runs longer is stopped and reported."""
    rollout: RolloutSettings = Field(default_factory=lambda: RolloutSettings())
    """How an advisory's rollout runs: its tickets, how many sites at once, how far it goes."""


class Settings(BaseSettings):
    """Everything Triage can be told; the config file first, `TRIAGE_*` variables over it."""

    model_config = SettingsConfigDict(
        env_prefix="TRIAGE_",
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
        allow_inf_nan=False,
    )

    data_dir: Path | None = None
    """Where the cache and job records live; default: the user data directory."""
    database_url: str | None = None
    """SQLAlchemy URL of the cache (postgresql+psycopg://…); default: SQLite in data_dir."""
    sites_file: Path | None = None
    """The sites inventory (sites.toml); default: sites.toml beside the config file."""
    max_jobs: int = Field(default=2, ge=1, le=16)
    """How many site operations run at once."""
    me: str | None = None
    """Your name as Jira shows it, for `@me` and assign-to-me; default: what Jira says."""
    board: BoardSettings = Field(default_factory=BoardSettings)
    """How the board looks."""
    keys: dict[str, str] = Field(default_factory=dict)
    """Key remapping: binding id = keys, e.g. "board.move_right" = "L,ctrl+right"."""
    jira: JiraSettings = Field(default_factory=JiraSettings)
    """The Jira server."""
    sync: SyncSettings = Field(default_factory=SyncSettings)
    """Guards of the sync."""
    queue: QueueSettings = Field(default_factory=QueueSettings)
    """How the SLA queue ranks, its calendars and defaults."""
    sla: dict[str, PackagePolicy] = Field(default_factory=default_policies)
    """SLA policy per support package ([sla.Gold], [sla.Silver], …)."""
    health: HealthSettings = Field(default_factory=HealthSettings)
    """Site health checks and incidents."""
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    """The support mailbox read by `triage intake`."""
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    """Advisory feeds and the fleet's composer.lock refresh."""

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(
                "not a database URL; use postgresql+psycopg://user@host/db or sqlite:///path"
            ) from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{backend} is not supported; use PostgreSQL or SQLite")
        if backend == "sqlite" and make_url(value).database in (None, "", ":memory:"):
            raise ValueError(
                "an in-memory SQLite cache loses every change when Triage exits; "
                "name a file (sqlite:///path/to/triage.db) or leave it unset"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; environment variables win over them.
        return (env_settings, init_settings)

    def resolved_data_dir(self) -> Path:
        """The data directory in force."""
        return (self.data_dir or paths.default_data_dir()).expanduser()

    def resolved_sites_file(self) -> Path:
        """The sites inventory in force."""
        return (self.sites_file or paths.config_file().parent / "sites.toml").expanduser()

    def resolved_database_url(self) -> str:
        """The cache's database URL in force."""
        return self.database_url or sqlite_url(self.resolved_data_dir() / "triage.db")


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Read the config file (if any) and the environment; ConfigError names file and key."""
    path = config_path or paths.config_file()
    data = _read_toml(path)
    data.update(overrides)
    try:
        settings = Settings(**data)
    except ValidationError as error:
        raise ConfigError(_describe(error, path)) from None
    except SettingsError as error:
        raise ConfigError(_describe_variable(error)) from None
    mistake = problem(settings.sla, settings.queue)
    if mistake:
        raise ConfigError(f"{path}: {mistake}")
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(
            f"cannot read the config file {path} ({error.strerror}): fix its permissions"
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"the config file {path} is not UTF-8 text (byte {error.object[error.start]:#04x} "
            f"at offset {error.start}): save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"the config file {path} is not valid TOML ({error}): fix that line"
        ) from None


def _describe(error: ValidationError, path: Path) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    env = "TRIAGE_" + "__".join(str(part).upper() for part in first["loc"])
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        return f"{path}: unknown key {key!r}: remove it or check its spelling"
    return f"{path}: key {key!r} is wrong ({message}): fix it there or in {env}"


def _describe_variable(error: SettingsError) -> str:
    """A `TRIAGE_*` variable that pydantic-settings could not parse as JSON, named."""
    found = re.search(r'field "([^"]+)"', str(error))
    prefix = "TRIAGE_" + (found[1].upper() if found else "")
    names = sorted(name for name in os.environ if name.upper().startswith(prefix))
    for name in names:
        try:
            json.loads(os.environ[name])
        except json.JSONDecodeError as bad:
            return (
                f"{name.upper()} is not valid JSON ({bad.msg}): write it as JSON "
                '(e.g. ["SUP"] or {"key": "value"}) or unset it'
            )
    named = names[0].upper() if names else prefix
    return f"{named} could not be read: write it as JSON or unset it"


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets and credentials in URLs hidden."""
    data = settings.model_dump(mode="json")
    data["data_dir"] = str(settings.resolved_data_dir())
    data["database_url"] = settings.resolved_database_url()
    result: dict[str, Any] = _mask(data)
    return result


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if value and any(word in key.lower() for word in SECRET_WORDS):
        return "********"
    return mask(value) if isinstance(value, str) else value
