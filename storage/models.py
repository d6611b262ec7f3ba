"""SQLModel records of the cache: tickets, comments, moves, outbox, jobs, audit, and enums.

Every timestamp is stored as naive UTC and handed back as an aware UTC datetime.
Fields that only Triage knows (the ticket's recorded facts, the outbox, the audit log)
are never touched by a sync from Jira.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from triage.storage.columns import BoardColumn


class OutboxKind(enum.StrEnum):
    """What a change waiting for Jira does."""

    MOVE = "move"
    COMMENT = "comment"
    ASSIGN = "assign"
    CREATE = "create"
    """Create an issue (an incident, an update ticket) exactly once, by its dedupe label."""
    CREATE_ISSUE = "create_issue"


class OutboxState(enum.StrEnum):
    """Where a change waiting for Jira stands."""

    PENDING = "pending"
    DONE = "done"
    CONFLICT = "conflict"
    FAILED = "failed"
    DISCARDED = "discarded"


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC and read back as aware UTC, on every dialect."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            # The very text SQLAlchemy's SQLite DateTime writes, at a fraction of the cost.
            if value is None:
                return None
            if value.tzinfo is not None and value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.isoformat(sep=" ", timespec="microseconds")[:26]

        return to_text

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def _column_type() -> sa.Enum:
    return sa.Enum(
        BoardColumn,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def _enum_type(enum_cls: type[enum.StrEnum]) -> sa.Enum:
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class TicketBase(SQLModel):
    """The fields of a ticket that come from Jira."""

    key: str = Field(primary_key=True, max_length=32)
    jira_id: str = Field(default="", max_length=32, index=True)
    project: str = Field(default="", max_length=32)
    summary: str = ""
    description: str = Field(default="", sa_type=sa.Text)
    issue_type: str = Field(default="", max_length=64)
    severity: str = Field(default="", max_length=64)
    severity_rank: int = 3
    urgency: str | None = Field(default=None, max_length=64)
    jira_status: str = Field(default="", max_length=128)
    column: BoardColumn | None = Field(default=None, sa_type=_column_type(), index=True)
    assignee: str | None = Field(default=None, max_length=255)
    assignee_id: str | None = Field(default=None, max_length=128)
    reporter: str | None = Field(default=None, max_length=255)
    site: str | None = Field(default=None, max_length=128, index=True)
    client: str | None = Field(default=None, max_length=255)
    labels: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    created: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    resolved: datetime | None = Field(default=None, sa_type=UTCDateTime)
    package: str | None = Field(default=None, max_length=64)
    """The client's support package, from the configured Jira field (None: not set there)."""
    service_desk_sla: list[dict[str, Any]] | None = Field(default=None, sa_type=sa.JSON)
    """Jira Service Management's own SLA cycles (name, due, breached, paused, met), if any."""


class TicketFactsBase(SQLModel):
    """What Triage has recorded about a ticket's work; the workflow guards read these."""

    branch: str | None = Field(default=None, max_length=255)
    branch_ahead: int | None = None
    approved_by: str | None = Field(default=None, max_length=255)
    test_site_passed: bool = False
    prod_deploy_passed: bool = False


class Ticket(TicketBase, TicketFactsBase, table=True):
    """A cached Jira issue with the facts Triage recorded about it."""

    __tablename__ = "ticket"
    __table_args__ = (sa.Index("ix_ticket_column_updated", "column", "updated"),)

    synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    """When a sync last wrote the ticket; the SLA queue re-reads what changed since it looked."""


#: Columns a sync from Jira may overwrite; everything else on a ticket is Triage's own.
JIRA_TICKET_FIELDS: tuple[str, ...] = (*TicketBase.model_fields, "synced_at")


class Comment(SQLModel, table=True):
    """A comment on a ticket, from Jira or typed in Triage and not yet pushed."""

    __tablename__ = "comment"
    __table_args__ = (sa.UniqueConstraint("ticket_key", "remote_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_key: str = Field(max_length=32, index=True)
    remote_id: str | None = Field(default=None, max_length=64)
    author: str = Field(default="", max_length=255)
    body: str = Field(default="", sa_type=sa.Text)
    created: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StatusChange(SQLModel, table=True):
    """One move of a ticket between statuses, from Jira's changelog or made in Triage."""

    __tablename__ = "status_change"
    __table_args__ = (sa.UniqueConstraint("ticket_key", "remote_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_key: str = Field(max_length=32, index=True)
    remote_id: str | None = Field(default=None, max_length=64)
    from_status: str | None = Field(default=None, max_length=128)
    to_status: str = Field(max_length=128)
    author: str = Field(default="", max_length=255)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source: str = Field(default="jira", max_length=16)
    override: bool = False


class OutboxEntry(SQLModel, table=True):
    """A change typed in Triage that still has to reach Jira."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    ticket_key: str = Field(max_length=32, index=True)
    kind: OutboxKind = Field(sa_type=_enum_type(OutboxKind))
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    state: OutboxState = Field(
        default=OutboxState.PENDING, sa_type=_enum_type(OutboxState), index=True
    )
    created: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished: datetime | None = Field(default=None, sa_type=UTCDateTime)
    author: str = Field(default="", max_length=255)
    """Who made the change, by the name Jira shows; empty on changes older than authorship."""
    author_id: str = Field(default="", max_length=255)
    """The Jira account that must send it (see `core.identity`); empty: whoever pushes."""
    lease_owner: str | None = Field(default=None, max_length=128)
    """The pusher sending it now; others leave it alone until `lease_until` has passed."""
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """An append-only record of who did what, where, and how it ended."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(default="", max_length=255)
    action: str = Field(max_length=64)
    ticket_key: str | None = Field(default=None, max_length=32, index=True)
    site: str | None = Field(default=None, max_length=128)
    env: str | None = Field(default=None, max_length=64)
    ref: str | None = Field(default=None, max_length=255)
    detail: str = Field(default="", sa_type=sa.Text)
    result: str = Field(default="ok", max_length=32)
    duration_ms: int | None = None


class JobState(enum.StrEnum):
    """Where a site operation (a job), or one step of it, stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    """Its process died before it ended; set by the next start, never left running."""

    @property
    def finished(self) -> bool:
        """True once the job or step has ended, however it ended."""
        return self not in (JobState.QUEUED, JobState.RUNNING)


class Job(SQLModel, table=True):
    """One site operation (branch, clone, deploy…) run in the background, and how it ended."""

    __tablename__ = "job"
    __table_args__ = (sa.Index("ix_job_state_created", "state", "created"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    site: str | None = Field(default=None, max_length=128, index=True)
    env: str | None = Field(default=None, max_length=64)
    ticket_key: str | None = Field(default=None, max_length=32, index=True)
    ref: str | None = Field(default=None, max_length=255)
    actor: str = Field(default="", max_length=255)
    state: JobState = Field(default=JobState.QUEUED, sa_type=_enum_type(JobState), index=True)
    dry_run: bool = False
    created: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    started: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_ms: int | None = None
    summary: str = Field(default="", sa_type=sa.Text)
    error: str | None = Field(default=None, sa_type=sa.Text)
    pid: int | None = None
    """The process running the job."""
    host: str = Field(default="", max_length=255)
    """The machine of that process: a shared cache holds jobs of several machines."""
    process: str = Field(default="", max_length=64)
    """That process's start mark, so a reused pid is not taken for the job's process."""
    cancel_requested: bool = False
    """Set by a cancel from any process; the job stops at its next step boundary."""


class JobStep(SQLModel, table=True):
    """One named step of a job, with its times."""

    __tablename__ = "job_step"
    __table_args__ = (sa.UniqueConstraint("job_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(index=True)
    position: int
    name: str = Field(max_length=255)
    state: JobState = Field(default=JobState.RUNNING, sa_type=_enum_type(JobState))
    started: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_ms: int | None = None


class JobLog(SQLModel, table=True):
    """One line of a job's output; ids grow, so a live tail asks for those after the last."""

    __tablename__ = "job_log"
    __table_args__ = (sa.Index("ix_job_log_job_id_id", "job_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    step: str | None = Field(default=None, max_length=255)
    line: str = Field(default="", sa_type=sa.Text)


class Meta(SQLModel, table=True):
    """Small named values of the cache: schema version, sync watermark, who I am."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", sa_type=sa.Text)


def table_of(model: type[SQLModel]) -> sa.Table:
    """The SQLAlchemy table behind a table model."""
    table = getattr(model, "__table__", None)
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


class HealthState(enum.StrEnum):
    """Where a checked environment of a site stands."""

    UNKNOWN = "unknown"
    """Not checked yet, or not failed often enough to call it down."""
    UP = "up"
    DEGRADED = "degraded"
    """Answers, but slowly, with a certificate about to expire, or Drupal reports errors."""
    DOWN = "down"


class HealthResult(SQLModel, table=True):
    """One health check of one environment of a site, as it came; the history is pruned."""

    __tablename__ = "health_result"
    __table_args__ = (sa.Index("ix_health_result_site_env_at", "site", "env", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(max_length=128)
    env: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    url: str = Field(default="", max_length=1024)
    level: str = Field(default="ok", max_length=16)
    """ok, warn, critical (the site answers) or fail (it does not, as expected)."""
    status: int | None = None
    ms: int | None = None
    tls_days: int | None = None
    check: str = Field(default="", max_length=32)
    """The worst check of this round: http, text, slow, tls, drupal, cron (empty when all ok)."""
    reason: str = Field(default="", sa_type=sa.Text)


class SiteHealth(SQLModel, table=True):
    """Where one checked environment of a site stands now, shared by everyone on the cache."""

    __tablename__ = "site_health"

    site: str = Field(primary_key=True, max_length=128)
    env: str = Field(primary_key=True, max_length=64)
    url: str = Field(default="", max_length=1024)
    state: HealthState = Field(default=HealthState.UNKNOWN, sa_type=_enum_type(HealthState))
    since: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    fails: int = 0
    """Failures in a row."""
    successes: int = 0
    """Answers in a row."""
    recent: str = Field(default="", max_length=32)
    """The last outcomes, oldest first: 1 for an answer, 0 for a failure (flapping)."""
    flapping: bool = False
    maintenance: bool = False
    """Triage's own deploy has the site in maintenance: failures raise no alarm."""
    checked: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: int | None = None
    ms: int | None = None
    tls_days: int | None = None
    check: str = Field(default="", max_length=32)
    reason: str = Field(default="", sa_type=sa.Text)


class IntakeState(enum.StrEnum):
    """What intake did with one mail."""

    TICKET = "ticket"
    """It became a new ticket (created through the outbox)."""
    COMMENT = "comment"
    """It became a comment on an existing ticket."""
    SKIPPED = "skipped"
    """An auto-reply or bulk mail, counted and left alone."""
    FAILED = "failed"
    """It could not be parsed; kept here, raw, for a person to read."""


class IntakeMail(SQLModel, table=True):
    """One mail intake has taken, by Message-ID, so no mail is ever taken twice."""

    __tablename__ = "intake_mail"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=255, unique=True)
    state: IntakeState = Field(sa_type=_enum_type(IntakeState), index=True)
    ticket_key: str | None = Field(default=None, max_length=32, index=True)
    """The ticket it made or commented on; `new:…` until the new ticket reaches Jira."""
    reason: str = Field(default="", sa_type=sa.Text)
    """Why it was skipped or failed, or what it became."""
    sender: str = Field(default="", max_length=255)
    subject: str = Field(default="", sa_type=sa.Text)
    received: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    raw: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    """The mail as read, for new tickets (attachments) and failed mails (never dropped)."""


class SiteLock(SQLModel, table=True):
    """One site's composer.lock as read from one ref: the commit, or why it could not be read."""

    __tablename__ = "site_lock"

    site: str = Field(primary_key=True, max_length=128)
    ref: str = Field(primary_key=True, max_length=255)
    """The ref read: the main branch, or what prod runs when that differs."""
    role: str = Field(default="main", max_length=16)
    """main or prod."""
    commit: str = Field(default="", max_length=64)
    """The commit the lock was read from; empty when it could not be read."""
    read_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    error: str = Field(default="", sa_type=sa.Text)
    """Why the last refresh could not read it (the packages kept are the last read)."""


class SitePackage(SQLModel, table=True):
    """One package a site's composer.lock pins, at one ref."""

    __tablename__ = "site_package"
    __table_args__ = (sa.Index("ix_site_package_name", "name"),)

    site: str = Field(primary_key=True, max_length=128)
    ref: str = Field(primary_key=True, max_length=255)
    name: str = Field(primary_key=True, max_length=255)
    version: str = Field(default="", max_length=128)
    drupal_version: str = Field(default="", max_length=128)
    """extra.drupal.version, e.g. 8.x-1.13."""
    coverage: str = Field(default="", max_length=64)
    """extra.drupal.security-coverage.status, e.g. covered or not-covered."""


class Advisory(SQLModel, table=True):
    """A security advisory for one package: from a feed, Drupal's PSA feed, or typed by hand."""

    __tablename__ = "advisory"

    id: str = Field(primary_key=True, max_length=255)
    package: str = Field(primary_key=True, max_length=255)
    affected: str = Field(default="", sa_type=sa.Text)
    """Composer constraint of the affected versions; empty for a PSA (a warning only)."""
    title: str = Field(default="", sa_type=sa.Text)
    link: str = Field(default="", max_length=1024)
    cve: str = Field(default="", max_length=64)
    severity: str = Field(default="", max_length=32)
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source: str = Field(default="", max_length=64)
    """The feed's name, `psa`, or `manual`."""
    kind: str = Field(default="advisory", max_length=16)
    """advisory, or psa: an early warning without affected versions."""
    updated: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RolloutState(enum.StrEnum):
    """Where one site stands in the rollout of an advisory."""

    QUEUED = "queued"
    """Waiting for a slot, or for its ticket to reach Jira."""
    RUNNING = "running"
    TESTED = "tested"
    """Updated and on its test site; the rollout stops here for this site's package."""
    WAITING = "waiting"
    """On its test site; goes to production once the client's window has passed."""
    DEPLOYED = "deployed"
    """Updated on production."""
    NO_FIX = "no-fix"
    """No secure version is installable (Composer refuses, or an unsupported branch)."""
    FAILED = "failed"
    SKIPPED = "skipped"
    PATCHED = "patched"
    """Already on a secure version when the rollout started."""

    @property
    def finished(self) -> bool:
        """Whether nothing more happens to the site without a retry."""
        return self not in (RolloutState.QUEUED, RolloutState.RUNNING, RolloutState.WAITING)


class Rollout(SQLModel, table=True):
    """The rollout of one advisory across the fleet, with its parent ticket."""

    __tablename__ = "rollout"

    advisory_id: str = Field(primary_key=True, max_length=255)
    package: str = Field(primary_key=True, max_length=255)
    ticket_key: str | None = Field(default=None, max_length=32, index=True)
    """The parent ticket; a placeholder (NEW-…) until it reaches Jira."""
    severity: str = Field(default="", max_length=32)
    started: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(default="", max_length=255)


class RolloutSite(SQLModel, table=True):
    """One site in the rollout of an advisory: its ticket, branch, last finished step, state."""

    __tablename__ = "rollout_site"

    advisory_id: str = Field(primary_key=True, max_length=255)
    package: str = Field(primary_key=True, max_length=255)
    site: str = Field(primary_key=True, max_length=128)
    ticket_key: str | None = Field(default=None, max_length=32, index=True)
    """The site's ticket; a placeholder (NEW-…) until it reaches Jira; none when patched."""
    state: RolloutState = Field(sa_type=_enum_type(RolloutState), index=True)
    rank: int = 0
    """The order sites are served in: advisory risk, then the client's package."""
    engine: str = Field(default="", max_length=255)
    """The Docker engine its environments run on (the per-engine limit counts these)."""
    stage: str = Field(default="test", max_length=16)
    """How far it goes by itself: test, or prod after the window."""
    version: str = Field(default="", max_length=128)
    """The affected version it ran when the rollout started."""
    new_version: str = Field(default="", max_length=128)
    branch: str = Field(default="", max_length=255)
    step: str = Field(default="", max_length=32)
    """The last step that finished; a resume continues after it."""
    job_id: int | None = None
    """The job that runs (or last ran) it."""
    attempts: int = 0
    reason: str = Field(default="", sa_type=sa.Text)
    """Why it failed, has no fix, or was skipped; what the tests said."""
    prod_after: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """When it may go to production (its package's window after the test site passed)."""
    updated: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
