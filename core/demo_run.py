"""The demo while it runs and between runs: its run file and its sandbox's saved Jira.

While `triage demo` runs, `demo-run.json` in the data directory says where its sandbox Jira
listens (URL, flavour, API user, token, process id) and, with `--sites`, where its sites'
sites.toml is and the rollout settings it uses; `triage`, `doctor`, `sync`, `push` and
`security` read it to work against that demo from another terminal. The demo removes it on
exit.

A demo cache is synced only with its own sandbox: the commands reach Jira through
`jira_for_cache`, which sends a demo cache to the running demo or says to start one.

Between runs, `demo-jira.json` keeps the options the demo was built with and every issue its
sandbox changed, so the next demo serves the same Jira and pushes the changes still waiting.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from triage.core.config import RolloutSettings, Settings
from triage.core.tracker.client import Credentials, Flavour, JiraTracker
from triage.storage.errors import TriageError
from triage.storage.queries import get_meta

RUN_FILE = "demo-run.json"
STATE_FILE = "demo-jira.json"


@dataclass(frozen=True)
class DemoRun:
    """Where a running demo's sandbox Jira listens, and how to log in to it."""

    url: str
    flavour: str
    user: str
    token: str
    project: str
    pid: int = field(default_factory=os.getpid)
    sites_file: str = ""
    """The demo sites' sites.toml (`triage demo --sites`), or empty."""
    rollout: dict[str, Any] = field(default_factory=dict)
    """The demo's `[security.rollout]` settings, over the config's."""

    def tracker(self) -> JiraTracker:
        """A client of this sandbox."""
        flavour: Flavour = "dc" if self.flavour == "dc" else "cloud"
        return JiraTracker(Credentials(self.url, self.token, self.user), flavour)

    def settings(self, settings: Settings) -> Settings:
        """`settings` with the Jira section pointing at this sandbox."""
        jira = settings.jira.model_copy(
            update={
                "url": self.url,
                "user": self.user if self.flavour == "cloud" else "",
                "projects": [self.project],
                "jql": "",
                "deployment": self.flavour,
            }
        )
        update: dict[str, Any] = {"jira": jira}
        if self.sites_file:
            update["sites_file"] = Path(self.sites_file)
        if self.rollout:
            rollout = RolloutSettings.model_validate(
                settings.security.rollout.model_dump() | self.rollout
            )
            update["security"] = settings.security.model_copy(update={"rollout": rollout})
        return settings.model_copy(update=update)


@dataclass
class DemoState:
    """What the next demo needs to serve the same Jira: its options and the changed issues."""

    tickets: int
    seed: int
    flavour: str
    issues: list[dict[str, Any]] = field(default_factory=list)


def first_demo() -> DemoState:
    """The demo's options when neither the command line nor an earlier demo says otherwise."""
    return DemoState(tickets=2000, seed=0, flavour="cloud")


def _write_private(path: Path, text: str) -> None:
    """Write `text` readable by its owner only, replacing `path` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_run(data_dir: Path, run: DemoRun) -> None:
    """Say where this demo's sandbox listens, for commands in other terminals."""
    _write_private(data_dir / RUN_FILE, json.dumps(asdict(run)))


def remove_run(data_dir: Path, run: DemoRun) -> None:
    """Take this demo's run file away, unless another demo wrote it since."""
    current = running_demo(data_dir)
    if current is not None and current.pid == run.pid:
        (data_dir / RUN_FILE).unlink(missing_ok=True)


def running_demo(data_dir: Path) -> DemoRun | None:
    """The demo running on this data directory, or None (a killed demo's file is ignored)."""
    try:
        run = DemoRun(**json.loads((data_dir / RUN_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    return run if _alive(run.pid) else None


def load_state(data_dir: Path) -> DemoState | None:
    """The last demo's options and changed issues, or None when there was none."""
    path = data_dir / STATE_FILE
    try:
        return DemoState(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        raise TriageError(
            f"{path} is not a demo's saved Jira: run `triage demo --reset` to start afresh"
        ) from None


def save_state(data_dir: Path, state: DemoState) -> None:
    """Keep the demo's options and changed issues for the next demo."""
    _write_private(data_dir / STATE_FILE, json.dumps(asdict(state), ensure_ascii=False))


def drop_state(data_dir: Path) -> None:
    """Forget the last demo's Jira: the next demo starts from the agency as built."""
    (data_dir / STATE_FILE).unlink(missing_ok=True)


def is_demo(engine: Engine) -> bool:
    """Whether the cache holds the demo rather than a Jira workspace."""
    return get_meta(engine, "workspace") == "demo"


def jira_for_cache(settings: Settings, engine: Engine) -> tuple[Settings, DemoRun | None]:
    """The settings to reach Jira with for this cache: a demo cache reaches its running demo.

    Raises TriageError for a demo cache when no demo runs: its changes wait for the next one.
    """
    if not is_demo(engine):
        return settings, None
    run = running_demo(settings.resolved_data_dir())
    if run is None:
        raise TriageError(
            "the cache in this data directory is the demo and no demo is running: start it with "
            "`triage demo` (changes waiting are pushed then) or drop them with "
            "`triage demo --reset`"
        )
    return run.settings(settings), run
