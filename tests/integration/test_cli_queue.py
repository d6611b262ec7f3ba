"""`triage queue` as a user and a script run it: a subprocess on a real demo cache."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import clean_env, triage


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding an 80-ticket demo, synced from the sandbox Jira."""
    root = tmp_path_factory.mktemp("queue-demo")
    result = triage(clean_env(root), "demo", "--no-open", "--tickets", "80", "--seed", "7")
    assert result.returncode == 0, result.stderr
    return root


def queue_json(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    result = triage(env, "queue", "--json", *args)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_queue_json_is_the_ranking_for_scripts(demo_root: Path) -> None:
    env = clean_env(demo_root)
    rows = queue_json(env)
    ls = json.loads(triage(env, "ls", "--json").stdout)
    open_keys = {row["key"] for row in ls if row["column"] != "Done"}

    assert {row["key"] for row in rows} == open_keys
    assert [row["rank"] for row in rows] == list(range(1, len(rows) + 1))
    for row in rows:
        assert {"key", "package", "severity", "due", "breached", "why"} <= set(row)
        assert row["package"] in ("Gold", "Silver", "Bronze")
        assert row["why"]
        if row["due"] is not None:
            assert datetime.fromisoformat(row["due"]).tzinfo is not None
    breached = [row["breached"] for row in rows]
    # Breached tickets first, then the rest; each says so in its why.
    assert breached == sorted(breached, reverse=True)
    assert all(row["why"].startswith("breached: ") == row["breached"] for row in rows)


def test_queue_mine_and_the_table(demo_root: Path) -> None:
    env = clean_env(demo_root)
    everything = queue_json(env)
    mine = queue_json(env, "--mine")
    ls = json.loads(triage(env, "ls", "--json").stdout)
    # The demo's "me" is whoever has the most tickets in progress.
    busy = Counter(
        row["assignee"] for row in ls if row["column"] == "In Progress" and row["assignee"]
    )
    me = max(sorted(busy), key=lambda name: busy[name])
    assert mine, "the demo's me holds tickets"
    assert {row["assignee"] for row in mine} == {me}
    assert {row["key"] for row in mine} == {
        row["key"] for row in everything if row["assignee"] == me
    }
    ranks = [row["rank"] for row in mine]
    assert ranks == sorted(ranks)  # in the whole queue's order

    table = triage(env, "queue", "--limit", "3")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.strip().splitlines()
    # The demo runs on the real clock: allow for neighbours that swapped since the JSON.
    assert len(lines) == 3
    assert {line.split()[1] for line in lines} <= {row["key"] for row in everything[:10]}


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ('[sla.Gold]\ncalendar = "nights"\n', "'sla.Gold.calendar' names no calendar 'nights'"),
        ('[queue.calendars.pl]\ntimezone = "Mars/Olympus"\n', "no time zone 'Mars/Olympus'"),
        ('[sla.Gold]\nresolution = { Urgent = "1h" }\n', "'sla.Gold.resolution.Urgent'"),
        ('[queue]\ndefault_package = "Platinum"\n', "'queue.default_package' names 'Platinum'"),
    ],
)
def test_a_wrong_sla_config_is_one_sentence_and_exit_2(
    demo_root: Path, tmp_path: Path, config: str, says: str
) -> None:
    env = clean_env(demo_root)
    env["TRIAGE_CONFIG"] = str(tmp_path / "config.toml")
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")

    result = triage(env, "queue")

    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr


def test_a_site_whose_package_has_no_policy_is_one_sentence(
    demo_root: Path, tmp_path: Path
) -> None:
    env = clean_env(demo_root)
    sites = tmp_path / "sites.toml"
    sites.write_text(
        """
[sites.acme]
name = "Acme"
client = "Acme Corp"
package = "Platinum"
repo = "git@example:acme.git"
checkout = "/tmp/acme"
[sites.acme.envs.prod]
web_container = "w"
db_container = "d"
""",
        encoding="utf-8",
    )
    env["TRIAGE_SITES_FILE"] = str(sites)

    result = triage(env, "queue", "--json")

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "site acme" in result.stderr and "'Platinum'" in result.stderr
