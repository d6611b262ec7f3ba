"""The pieces of `triage demo --sites` that need no Docker engine.

The sentence when no engine answers; the Composer repository of stand-ins (served on
loopback, read as Composer reads it); the demo sites' sites.toml, which the real inventory
loader accepts; the run file that carries the demo's sites and rollout settings to other
terminals. The sites themselves are tested on the real engine (tests/integration).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from triage.core.config import Settings
from triage.core.demo_run import DemoRun, running_demo, write_run
from triage.core.security.constraints import satisfies
from triage.core.sites.inventory import load_inventory
from triage.sandbox.composer_repo import ADVISORY, AFFECTED, CORE, composer_json, serve
from triage.sandbox.demo_code import SPECS, spec_for
from triage.sandbox.demo_sites import rollout_settings
from triage.sandbox.demo_toml import site_table, toml_document
from triage.tui.cli.demo_sites import NO_ENGINE
from triage.tui.cli.main import main


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TRIAGE_DATA_DIR", "TRIAGE_CONFIG", "DOCKER_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIAGE_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path


def test_without_a_docker_engine_the_demo_says_how_to_start_one(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{workspace / 'no-engine.sock'}")

    assert main(["demo", "--sites", "2", "--no-open", "--tickets", "20"]) == 2

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and NO_ENGINE in err[0]
    assert "start it" in err[0] and "without --sites" in err[0]
    assert not (workspace / "data" / "demo-run.json").exists()  # nothing was started


@pytest.mark.parametrize("count", ["0", "13"])
def test_a_number_of_sites_out_of_range_is_one_sentence(
    workspace: Path, count: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--sites", count, "--no-open", "--tickets", "20"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--sites takes 1 to 12 sites, not {count}" in err[0]


def get(url: str, data: bytes | None = None) -> bytes:
    with urllib.request.urlopen(url, data=data, timeout=10) as answer:
        body: bytes = answer.read()
    return body


def test_the_composer_repository_serves_metadata_dists_and_advisories() -> None:
    with serve("127.0.0.1") as repo:
        root = json.loads(get(repo.base + "/packages.json"))
        assert root["available-packages"] == ["drupal/core", "symfony/http-foundation"]
        core = json.loads(get(repo.base + "/p2/drupal/core.json"))["packages"]["drupal/core"]
        assert {entry["version"] for entry in core} == set(CORE)
        secure = next(entry for entry in core if entry["version"] == "10.3.6")
        assert secure["require"] == {"symfony/http-foundation": "^6.4.8"}
        dist = get(secure["dist"]["url"])
        assert hashlib.sha1(dist).hexdigest() == secure["dist"]["shasum"]
        with tarfile.open(fileobj=io.BytesIO(dist)) as archive:
            drupal = archive.extractfile("package/Drupal.php")
            assert drupal is not None and "legacyRender" not in drupal.read().decode()
        asked = json.loads(get(root["security-advisories"]["api-url"], b"packages[]=drupal/core"))
        assert asked == {"advisories": {"drupal/core": [ADVISORY]}}
        assert repo.audits == [["drupal/core"]]
        polled = json.loads(get(repo.base + "/api/security-advisories/?updatedSince=0"))
        assert polled["advisories"]["drupal/core"][0]["advisoryId"] == ADVISORY["advisoryId"]
        with pytest.raises(urllib.error.HTTPError, match="404"):
            get(repo.base + "/p2/drupal/nothing.json")


def test_each_kind_of_site_starts_where_its_rollout_ends_as_expected() -> None:
    by_state = {spec.expect: spec for spec in SPECS}
    assert set(by_state) == {"tested", "failed", "no-fix", "deployed", "patched"}
    assert not satisfies(by_state["patched"].core, AFFECTED)
    for spec in SPECS:
        assert spec.core in CORE
        assert satisfies(spec.core, AFFECTED) == (spec.expect != "patched")
    assert [spec_for(i)[0] for i in (0, 1, 6, 7)] == [
        "demo-bakery", "demo-museum", "demo-bakery-2", "demo-museum-2",
    ]  # fmt: skip


def test_the_demo_sites_toml_is_an_inventory_a_team_could_write(tmp_path: Path) -> None:
    servers = {"prod": "x-prod-db", "dev": "x-work-db", "test": "x-work-db"}
    tables = {}
    for index in range(7):
        site_id, spec = spec_for(index)
        tables[site_id] = site_table(site_id, spec, tmp_path / f"{site_id}.git",
                                     tmp_path / site_id, "x", servers)  # fmt: skip
    tables["demo-bakery"]["envs"]["test"]["url"] = 'http://127.0.0.1:8080/"quoted"'
    (tmp_path / "sites.toml").write_text(toml_document(tables))

    inventory = load_inventory(tmp_path / "sites.toml")

    assert list(inventory.sites) == list(tables)
    bakery, museum = inventory.sites["demo-bakery"], inventory.sites["demo-museum"]
    assert bakery.envs["test"].url == 'http://127.0.0.1:8080/"quoted"'
    assert museum.tests == ["php tests/check.php", "php tests/legacy.php"]
    assert inventory.sites["demo-clinic"].package == "Platinum"
    names = [env.db_name for site in inventory.sites.values() for env in site.envs.values()]
    assert len(names) == len(set(names)) == 21  # a database per site and environment
    assert {bakery.envs[e].db_container for e in ("dev", "test")} == {"x-work-db"}
    assert bakery.envs["prod"].db_container == "x-prod-db"  # a clone never writes there
    assert bakery.envs["prod"].volumes == {"x-demo-bakery-git": "/srv/git/site.git"}
    assert json.loads(composer_json("a/b", {"drupal/core": "^10.3"}, "http://h:1"))[
        "repositories"
    ] == [{"type": "composer", "url": "http://h:1"}, {"packagist.org": False}]


def test_the_run_file_carries_the_demo_sites_and_rollout_to_other_terminals(
    tmp_path: Path,
) -> None:
    run = DemoRun("http://127.0.0.1:1", "cloud", "me@agency.example", "t", "SUP",
                  sites_file=str(tmp_path / "sites.toml"), rollout=rollout_settings())  # fmt: skip
    write_run(tmp_path, run)
    found = running_demo(tmp_path)
    assert found == run

    settings = found.settings(Settings(data_dir=tmp_path))
    assert settings.resolved_sites_file() == tmp_path / "sites.toml"
    rollout = settings.security.rollout
    assert rollout.stage("Platinum").to == "prod" and rollout.stage("Platinum").window_hours == 0
    assert rollout.stage("Gold").to == "test"
    assert rollout.package_order == ["Platinum", "Gold", "Silver"]

    plain = DemoRun("http://127.0.0.1:1", "cloud", "me@agency.example", "t", "SUP")
    mine = Settings(data_dir=tmp_path, sites_file=tmp_path / "mine.toml")
    assert plain.settings(mine).resolved_sites_file() == tmp_path / "mine.toml"
