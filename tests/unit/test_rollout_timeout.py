"""The rollout's time limit for Composer: its config key, and what a site makes of a timeout.

`DockerSiteWork` runs `composer update` and `composer audit` with the limit; one stopped at it
fails the site (UpdateFailed, the step and the limit in the reason), never NoFix and never an
audit that passed. The containers are stand-ins here: `exec_in` is replaced by one that
records its call and raises what a real timeout raises (tests/integration covers the real one).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from docker.models.containers import Container

from triage.core.config import load_settings
from triage.core.errors import ConfigError
from triage.core.jobs.reporting import ListReporter
from triage.core.security import site_work
from triage.core.security.site_update import UpdateFailed
from triage.core.security.site_work import DockerSiteWork
from triage.core.sites.containers import CommandTimedOut
from triage.core.sites.environments import Engines
from triage.core.sites.inventory import Environment, Site
from triage.storage.models import utcnow
from triage.tui.rollout_actions import docker_work

KEY = "security.rollout.command_timeout_seconds"
VARIABLE = "TRIAGE_SECURITY__ROLLOUT__COMMAND_TIMEOUT_SECONDS"
WEB = cast(Container, SimpleNamespace(name="acme-dev-web"))


@pytest.fixture(autouse=True)
def _user_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def test_the_limit_defaults_to_15_minutes_and_the_file_sets_it(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "absent.toml").security.rollout.command_timeout_seconds == 900
    path = tmp_path / "config.toml"
    path.write_text("[security.rollout]\ncommand_timeout_seconds = 1800\n")
    assert load_settings(path).security.rollout.command_timeout_seconds == 1800


@pytest.mark.parametrize(
    ("value", "why"),
    [("0", "greater than 0"), ("86401", "86400"), ("soon", "valid number"), ("nan", "finite")],
)
def test_a_wrong_limit_is_one_sentence_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    monkeypatch.setenv(VARIABLE, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "absent.toml")
    message = str(caught.value)
    assert "\n" not in message
    assert KEY in message and VARIABLE in message and why in message


class _Timeouts:
    """`exec_in` of a container whose commands all run past their limit."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], float | None]] = []

    def __call__(
        self, target: Container, cmd: Sequence[str], _reporter: Any, **options: Any
    ) -> str:
        self.calls.append((list(cmd), options.get("timeout")))
        limit = options.get("timeout") or 0.0
        raise CommandTimedOut(target, cmd, limit, 124, ["Loading composer repositories"])


@pytest.fixture
def timeouts(monkeypatch: pytest.MonkeyPatch) -> _Timeouts:
    fake = _Timeouts()
    monkeypatch.setattr(site_work, "exec_in", fake)
    dev = SimpleNamespace(web=WEB, env=SimpleNamespace(code_path="/var/www/site"),
                          checkout=lambda _ref: None)  # fmt: skip
    monkeypatch.setattr(site_work, "SiteEnv", lambda *_args: dev)
    return fake


def _site() -> Site:
    prod = Environment(web_container="acme-prod-web", db_container="acme-prod-db")
    return Site(name="Acme", client="Acme", repo="/nowhere.git", checkout="/nowhere",
                envs={"prod": prod})  # fmt: skip


def test_a_composer_update_past_its_limit_fails_the_site(timeouts: _Timeouts) -> None:
    work = DockerSiteWork(Engines(), command_timeout=120)
    with pytest.raises(UpdateFailed) as failed:
        work.composer_update(_site(), "SUP-1-sa", ["drupal/core"], ListReporter())
    command, limit = timeouts.calls[0]
    assert command[:3] == ["composer", "update", "drupal/core"] and limit == 120
    message = str(failed.value)
    assert message.startswith("`composer update drupal/core --with-dependencies")
    assert "in acme-dev-web did not finish within 120 s: check that the site's Composer " in message
    assert message.endswith("or raise security.rollout.command_timeout_seconds")


def test_a_composer_audit_past_its_limit_fails_the_site_rather_than_pass(
    timeouts: _Timeouts,
) -> None:
    work = DockerSiteWork(Engines(), command_timeout=60)
    with pytest.raises(UpdateFailed, match=r"^`composer audit --locked .* within 60 s: check"):
        work.audit(_site(), ListReporter())
    assert timeouts.calls[0][1] == 60


def test_the_app_and_the_default_pass_a_limit() -> None:
    assert DockerSiteWork(Engines()).command_timeout == 900
    work = docker_work(utcnow, 42.5)
    assert isinstance(work, DockerSiteWork) and work.command_timeout == 42.5
    work.close()
