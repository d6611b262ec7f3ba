"""The sites inventory (`sites.toml`): each client site, its git repository and environments.

A team keeps the file in git; its path is `sites_file` in the config. Every mistake is
one sentence naming the file, the site and the key. Example::

    [sites.acme-www]
    name = "Acme main site"
    client = "Acme Corp"
    package = "Gold"
    repo = "git@git.example:acme/www.git"
    main_branch = "main"
    prod_ref = "release-2025-11"                # what prod runs, when it is not main
    checkout = "~/sites/acme-www"
    deploy = ["drush deploy"]
    post_clone = ["drush deploy"]
    maintenance_on = ["drush state:set system.maintenance_mode 1"]
    maintenance_off = ["drush state:set system.maintenance_mode 0"]
    tests = ["vendor/bin/phpunit --testsuite smoke"]  # after a deploy to test
    restore = ["composer install --no-interaction"]   # after a rollback put the code back
    sanitize_sql = ["UPDATE webform_submission_data SET value = 'sanitized'"]
    allowed_emails = ["sales@acme.example"]     # a clone may keep these (published content)
    allowed_email_domains = ["agency.example"]  # and addresses at these domains

    [sites.acme-www.envs.prod]
    docker_host = "ssh://deploy@web1.example"     # default: the local engine
    web_container = "acme-prod-web"
    db_container = "acme-prod-db"
    url = "https://www.acme.example"
    db_name = "drupal"
    smoke = [{ path = "/", status = 200, contains = "Acme" }]
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from triage.core.errors import ConfigError, NotFound

PROD = "prod"
DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
"""A mail domain as the clone's check for addresses reads one (letters, digits, -, dots)."""
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@" + DOMAIN.pattern)


class Model(BaseModel):
    """A table of sites.toml; unknown keys are mistakes."""

    model_config = ConfigDict(extra="forbid")


class SmokeCheck(Model):
    """One request a healthy site answers as expected."""

    path: str = "/"
    status: int = 200
    contains: str = ""


class EnvHealth(Model):
    """How Triage watches an environment's health (`[sites.X.envs.Y.health]`)."""

    enabled: bool | None = None
    """Check this environment; default: only the environments in the config's health.envs."""
    interval_seconds: float | None = Field(default=None, gt=0)
    """Seconds between checks; default: the config's health.interval_seconds."""
    slow_ms: int | None = Field(default=None, gt=0)
    """A slower answer makes the site degraded; default: the config's health.slow_ms."""
    drupal: bool = False
    """Also ask Drupal (drush core:requirements, cron age) in the web container."""


class Environment(Model):
    """Where one copy of a site runs: its web and database containers on a Docker engine."""

    docker_host: str = ""
    """Docker engine: empty for the local one, unix:///path, tcp://host:port or ssh://user@host."""
    web_container: str
    """Container with the code checkout and the files."""
    db_container: str
    """Container with the database (MariaDB/MySQL)."""
    url: str = ""
    """Base URL of the site in this environment, for smoke checks."""
    db_name: str = "drupal"
    db_user: str = "root"
    db_password_env: str = ""
    """Environment variable holding the database password (never the password itself)."""
    code_path: str = "/var/www/site"
    """The git checkout inside the web container."""
    files_path: str = "/var/www/site/files"
    """User-uploaded files inside the web container."""
    web_image: str = ""
    """Image to create the web container from, when the environment is created by Triage."""
    db_image: str = ""
    """Image to create the database container from."""
    network: str = ""
    """Docker network of the environment's containers (created when missing)."""
    volumes: dict[str, str] = Field(default_factory=dict)
    """Named volumes: volume name = path inside the web container."""
    smoke: list[SmokeCheck] = Field(default_factory=lambda: [SmokeCheck()])
    """What a healthy site answers."""
    health: EnvHealth = Field(default_factory=EnvHealth)
    """How its health is watched."""

    @field_validator("docker_host")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("unix://", "tcp://", "ssh://", "npipe://")):
            raise ValueError("use unix:///var/run/docker.sock, tcp://HOST:PORT or ssh://USER@HOST")
        return value


class Site(Model):
    """One client website."""

    id: str = ""
    name: str
    client: str
    package: str = ""
    """Support package (SLA), e.g. Gold."""
    repo: str
    """Git remote the team pushes to."""
    main_branch: str = "main"
    prod_ref: str = ""
    """Branch, tag or commit prod runs when not main_branch (its composer.lock is read too)."""
    checkout: str
    """Local checkout directory (cloned from `repo` when missing)."""
    branch_pattern: str = "{key}-{slug}"
    """Name of a ticket's branch; {key} and {slug} (from the summary) are filled in."""
    post_clone: list[str] = Field(default_factory=list)
    """Commands run in the web container after a clone (Drupal: drush deploy)."""
    deploy: list[str] = Field(default_factory=list)
    """Commands run in the web container after the code is updated."""
    maintenance_on: list[str] = Field(default_factory=list)
    maintenance_off: list[str] = Field(default_factory=list)
    restore: list[str] = Field(default_factory=list)
    """Commands run after a failed deploy put the code back, before maintenance ends (e.g.
    composer install, so vendor/ matches the code again)."""
    tests: list[str] = Field(default_factory=list)
    """The site's test commands, run in the web container after a deploy to test."""
    composer: str = "composer"
    """The site's Composer, as its dev environment's web container runs it."""
    sanitize_sql: list[str] = Field(default_factory=list)
    """Extra SQL run after the default Drupal sanitizing."""
    allowed_emails: list[str] = Field(default_factory=list)
    """Addresses a clone may keep, e.g. the shop's own in published content (any case)."""
    allowed_email_domains: list[str] = Field(default_factory=list)
    """Domains (with their subdomains) whose addresses a clone may keep, e.g. the agency's."""
    skip_tables: list[str] = Field(
        default_factory=lambda: ["cache_%", "cachetags", "sessions", "watchdog"]
    )
    """Tables whose data a clone leaves out (LIKE patterns)."""
    envs: dict[str, Environment] = Field(default_factory=dict)

    @field_validator("allowed_emails")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if not EMAIL.fullmatch(value):
                raise ValueError(f"{value!r} is not an e-mail address: write it as name@domain.tld")
        return [value.lower() for value in values]

    @field_validator("allowed_email_domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        for value in values:
            if not DOMAIN.fullmatch(value):
                raise ValueError(
                    f"{value!r} is not a mail domain: write it as domain.tld, without @ or *"
                )
        return [value.lower() for value in values]

    @model_validator(mode="after")
    def _has_prod(self) -> Site:
        if PROD not in self.envs:
            raise ValueError("has no [envs.prod]: every site needs its production environment")
        return self

    def env(self, name: str) -> Environment:
        """An environment by name; NotFound naming the ones there are."""
        try:
            return self.envs[name]
        except KeyError:
            names = ", ".join(sorted(self.envs))
            raise NotFound(
                f"site {self.id} has no environment {name!r}: use one of {names}"
            ) from None

    @property
    def checkout_path(self) -> Path:
        """The local checkout as a path."""
        return Path(self.checkout).expanduser()


class Inventory(Model):
    """Every site of the agency."""

    sites: dict[str, Site] = Field(default_factory=dict)

    def site(self, site_id: str) -> Site:
        """A site by id; NotFound naming what to do."""
        try:
            return self.sites[site_id]
        except KeyError:
            raise NotFound(
                f"no site {site_id!r} in the sites inventory: check the id with `triage sites`"
            ) from None


def load_inventory(path: Path) -> Inventory:
    """Read and validate sites.toml; ConfigError names the file, site and key."""
    try:
        data = tomllib.loads(path.expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"the sites inventory {path} does not exist: create it or set sites_file in the config"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML ({error}): fix that line") from None
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(error, path)) from None
    for site_id, site in inventory.sites.items():
        site.id = site_id
    return inventory


def _describe(error: ValidationError, path: Path) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    where = ""
    if len(loc) >= 2 and loc[0] == "sites":
        where = f"site {loc[1]}"
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] == "envs":
            where += f", env {rest[1]}"
            rest = rest[2:]
        key = ".".join(rest)
    else:
        key = ".".join(loc)
    place = f"{where}: " if where else ""
    if first["type"] == "extra_forbidden":
        return f"{path}: {place}unknown key {key!r}: remove it or check its spelling"
    if first["type"] == "missing":
        return f"{path}: {place}key {key!r} is missing: add it"
    message = first["msg"].removeprefix("Value error, ")
    subject = f"key {key!r} " if key else ""
    return f"{path}: {place}{subject}is wrong: {message}"


SiteKind = Literal["drupal"]
