"""The git adapter against real repositories: a bare remote holding a small Drupal site.

Each test gets a bare remote seeded with `main`, a second clone for "a colleague" who pushes
meanwhile, and a Site whose checkout lives under tmp_path. Git's global and system config are
switched off and the identity comes from GIT_AUTHOR_*/GIT_COMMITTER_*, so it runs anywhere.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from triage.core.errors import ConfigError
from triage.core.jobs.reporting import ListReporter
from triage.core.sites.git import Git, branch_name
from triage.core.sites.gitcmd import (
    DirtyCheckout,
    GitError,
    MergeConflict,
    PushRejected,
    RemoteUnreachable,
    UnknownRef,
)
from triage.core.sites.inventory import Environment, Site

KEY = "ACME-12"
SUMMARY = "Fix the login form"
BRANCH = "ACME-12-fix-the-login-form"
INDEX_PHP = "<?php\n// Acme\nprint 'Welcome to Acme';\n"


def git(cwd: Path, *args: str) -> str:
    """Run git as a person would, outside the adapter; its output, stripped."""
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.strip()


def commit(repo: Path, path: str, text: str, message: str) -> str:
    """Write a file, commit it and return the new sha."""
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_site(repo: str, checkout: Path) -> Site:
    prod = Environment(web_container="acme-prod-web", db_container="acme-prod-db")
    return Site(
        id="acme-www",
        name="Acme main site",
        client="Acme Corp",
        repo=repo,
        checkout=str(checkout),
        envs={"prod": prod},
    )


@dataclass
class World:
    remote: Path
    colleague: Path
    site: Site
    reporter: ListReporter
    git: Git

    @property
    def checkout(self) -> Path:
        return self.site.checkout_path

    def remote_refs(self) -> str:
        return git(self.remote, "for-each-ref", "--format=%(refname) %(objectname)")

    def checkout_state(self) -> tuple[str, str, str]:
        refs = git(self.checkout, "for-each-ref", "--format=%(refname) %(objectname)")
        head = git(self.checkout, "rev-parse", "--symbolic-full-name", "HEAD")
        return refs, head, git(self.checkout, "status", "--porcelain")


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user or system git config; an identity from the environment."""
    config = tmp_path / "gitconfig"
    config.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Triage Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "triage@example.com")


@pytest.fixture
def world(tmp_path: Path) -> World:
    """A bare remote with a Drupal-ish main, a colleague's clone, and a site not yet cloned."""
    remote = tmp_path / "acme-www.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    (seed / "composer.json").write_text('{"name": "acme/www", "require": {"drupal/core": "^10"}}\n')
    git(seed, "add", "composer.json")
    commit(seed, "web/index.php", INDEX_PHP, "Initial site")
    git(seed, "push", "-q", str(remote), "main")
    colleague = tmp_path / "colleague"
    git(tmp_path, "clone", "-q", str(remote), str(colleague))
    site = make_site(str(remote), tmp_path / "sites" / "acme-www")
    reporter = ListReporter()
    return World(remote, colleague, site, reporter, Git(site, reporter, timeout=30))


@pytest.fixture
def cloned(world: World) -> World:
    world.git.ensure_checkout()
    return world


def opened(world: World) -> str:
    """Open the ticket's branch and commit a change on it; the commit's sha."""
    world.git.open_branch(KEY, SUMMARY)
    return commit(world.checkout, "web/index.php", INDEX_PHP + "print 'login';\n", "Fix login")


# -- branch names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "summary", "slug"),
    [
        ("ACME-12", "Fix the login form", "fix-the-login-form"),
        ("ACME-12", "Ärger mit der Straße über Café", "arger-mit-der-strasse-uber-cafe"),
        (
            "ACME-12",
            "Client's logo: wrong (again!!) on /about",
            "clients-logo-wrong-again-on-about",
        ),
        (
            "ACME-12",
            "UPDATE Drupal core to 10.2.3 -- SA-CORE-2024-001",
            "update-drupal-core-to-10-2-3-sa-core",
        ),
        (" acme-7 ", "Ünïcödé", "unicode"),
    ],
)
def test_branch_name_makes_a_readable_ascii_slug(
    world: World, key: str, summary: str, slug: str
) -> None:
    assert branch_name(world.site, key, summary) == f"{key.strip()}-{slug}"


def test_branch_name_without_words_is_the_key(world: World) -> None:
    assert branch_name(world.site, KEY, "🔥🔥 !!!") == KEY


def test_branch_name_cuts_long_summaries_at_a_word(world: World) -> None:
    summary = "The contact form on the careers page sends every application twice to HR"
    name = branch_name(world.site, KEY, summary)
    slug = name.removeprefix(f"{KEY}-")
    assert len(slug) <= 40 and not slug.endswith("-")
    assert summary.lower().replace(" ", "-").startswith(slug)
    one_word = branch_name(world.site, KEY, "x" * 80)
    assert one_word == f"{KEY}-{'x' * 40}"


def test_branch_name_follows_the_sites_pattern(world: World) -> None:
    site = world.site.model_copy(update={"branch_pattern": "support/{key}/{slug}"})
    assert branch_name(site, KEY, SUMMARY) == "support/ACME-12/fix-the-login-form"
    broken = world.site.model_copy(update={"branch_pattern": "{ticket}-{slug}"})
    with pytest.raises(ConfigError, match="use only {key} and {slug}"):
        branch_name(broken, KEY, SUMMARY)


# -- checkout ------------------------------------------------------------------------------


def test_ensure_checkout_clones_when_missing(world: World) -> None:
    path = world.git.ensure_checkout()
    assert path == world.checkout
    assert (path / "web" / "index.php").read_text() == INDEX_PHP
    assert git(path, "branch", "--show-current") == "main"
    assert any(line.startswith("$ git clone ") for line in world.reporter.lines)


def test_ensure_checkout_fetches_when_present(cloned: World) -> None:
    news = commit(cloned.colleague, "web/robots.txt", "User-agent: *\n", "Add robots.txt")
    git(cloned.colleague, "push", "-q", "origin", "main")
    cloned.git.ensure_checkout()
    assert cloned.git.resolve("origin/main") == news
    assert "$ git fetch --prune origin" in cloned.reporter.lines


def test_ensure_checkout_refuses_a_directory_that_is_not_a_checkout(world: World) -> None:
    world.checkout.mkdir(parents=True)
    (world.checkout / "notes.txt").write_text("mine")
    with pytest.raises(GitError, match="is not a git checkout: move it aside"):
        world.git.ensure_checkout()


# -- branches --------------------------------------------------------------------------------


def test_open_branch_creates_switches_and_pushes(world: World) -> None:
    status = world.git.open_branch(KEY, SUMMARY)
    main = git(world.remote, "rev-parse", "main")
    assert status.branch == BRANCH
    assert (status.exists_locally, status.pushed, status.ahead, status.behind) == (True, True, 0, 0)
    assert status.head == main
    assert git(world.checkout, "branch", "--show-current") == BRANCH
    assert git(world.remote, "rev-parse", BRANCH) == main
    upstream = git(world.checkout, "rev-parse", "--abbrev-ref", f"{BRANCH}@{{upstream}}")
    assert upstream == f"origin/{BRANCH}"


def test_open_branch_again_reuses_the_branch(world: World) -> None:
    work = opened(world)
    git(world.checkout, "switch", "-q", "main")
    status = world.git.open_branch(KEY, SUMMARY)
    assert git(world.checkout, "branch", "--show-current") == BRANCH
    assert status.head == work and status.ahead == 1 and status.pushed
    assert git(world.remote, "rev-parse", BRANCH) == work


def test_open_branch_picks_up_a_branch_a_colleague_pushed(world: World) -> None:
    git(world.colleague, "switch", "-q", "-c", BRANCH)
    theirs = commit(world.colleague, "web/login.php", "<?php\n", "Start login fix")
    git(world.colleague, "push", "-q", "origin", BRANCH)
    status = world.git.open_branch(KEY, SUMMARY)
    assert status.head == theirs and status.exists_locally and status.pushed
    assert (world.checkout / "web" / "login.php").exists()


def test_status_follows_commits_pushes_and_main(world: World) -> None:
    assert world.git.open_branch(KEY, SUMMARY).ahead == 0
    work = opened(world)
    status = world.git.status(BRANCH)
    assert (status.head, status.ahead, status.behind, status.pushed) == (work, 1, 0, False)
    git(world.checkout, "push", "-q")
    assert world.git.status(BRANCH).pushed
    commit(world.colleague, "web/robots.txt", "User-agent: *\n", "Add robots.txt")
    git(world.colleague, "push", "-q", "origin", "main")
    world.git.ensure_checkout()
    status = world.git.status(BRANCH)
    assert (status.ahead, status.behind, status.pushed) == (1, 1, True)
    missing = world.git.status("ACME-99-nothing")
    assert (missing.exists_locally, missing.pushed, missing.head) == (False, False, None)


def test_diff_shows_the_branch_change(world: World) -> None:
    opened(world)
    text = world.git.diff(BRANCH)
    assert "+++ b/web/index.php" in text and "+print 'login';" in text
    assert "web/index.php | 1 +" in world.git.diff(BRANCH, stat=True)
    with pytest.raises(UnknownRef):
        world.git.diff("ACME-99-nothing")


def test_dirty_checkout_is_refused_and_nothing_changes(cloned: World) -> None:
    (cloned.checkout / "composer.json").write_text("{}\n")
    (cloned.checkout / "untracked.txt").write_text("ignored by the check\n")
    assert not cloned.git.is_clean()
    before, remote_before = cloned.checkout_state(), cloned.remote_refs()
    with pytest.raises(DirtyCheckout, match=r"changes in 1 file: .*`git stash`"):
        cloned.git.open_branch(KEY, SUMMARY)
    assert cloned.checkout_state() == before and cloned.remote_refs() == remote_before
    assert (cloned.checkout / "composer.json").read_text() == "{}\n"
    git(cloned.checkout, "checkout", "--", "composer.json")
    assert cloned.git.is_clean()


def test_unknown_refs_name_the_ref_and_the_site(cloned: World) -> None:
    for ref in ("no-such-branch", "deadbeef", "-x", ""):
        with pytest.raises(UnknownRef, match=f"no branch, tag or commit {ref!r} in acme-www: "):
            cloned.git.resolve(ref)
    with pytest.raises(UnknownRef):
        cloned.git.checkout("no-such-branch")
    assert cloned.git.resolve("main") == git(cloned.remote, "rev-parse", "main")


def test_checkout_switches_to_branches_and_detaches_at_tags(world: World) -> None:
    work = opened(world)
    git(world.checkout, "push", "-q")
    world.git.tag("v1", message="first")
    assert world.git.checkout("main") == git(world.remote, "rev-parse", "main")
    assert git(world.checkout, "branch", "--show-current") == "main"
    assert world.git.checkout("v1") == work
    assert git(world.checkout, "branch", "--show-current") == ""
    assert world.git.checkout(BRANCH) == work
    assert git(world.checkout, "branch", "--show-current") == BRANCH


# -- merging and tagging --------------------------------------------------------------------


def test_merge_to_main_makes_a_pushed_merge_commit(world: World) -> None:
    opened(world)
    git(world.checkout, "push", "-q")
    assert not world.git.is_merged(BRANCH)
    sha = world.git.merge_to_main(BRANCH, KEY)
    assert git(world.remote, "rev-parse", "main") == sha
    assert git(world.remote, "log", "-1", "--format=%s", sha) == f"{KEY}: merge {BRANCH}"
    assert len(git(world.remote, "rev-list", "--parents", "-n1", sha).split()) == 3
    assert git(world.checkout, "branch", "--show-current") == "main"
    assert world.git.is_clean() and world.git.is_merged(BRANCH)
    assert world.git.merge_to_main(BRANCH, KEY) == sha  # a retry changes nothing


def test_merge_conflict_is_aborted_and_main_left_clean(world: World) -> None:
    opened(world)
    git(world.checkout, "push", "-q")
    theirs = commit(world.colleague, "web/index.php", "<?php\nprint 'Hi';\n", "Reword")
    git(world.colleague, "push", "-q", "origin", "main")
    with pytest.raises(MergeConflict, match=r"conflicts with main in web/index.php: .*aborted"):
        world.git.merge_to_main(BRANCH, KEY)
    assert git(world.checkout, "branch", "--show-current") == "main"
    assert git(world.checkout, "status", "--porcelain") == ""
    assert not (world.checkout / ".git" / "MERGE_HEAD").exists()
    assert git(world.checkout, "rev-parse", "main") == theirs
    assert git(world.remote, "rev-parse", "main") == theirs


def test_rejected_push_of_main_undoes_the_local_merge(world: World) -> None:
    opened(world)
    git(world.checkout, "push", "-q")
    hook = world.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected' >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    main = git(world.remote, "rev-parse", "main")
    with pytest.raises(PushRejected, match="refused the push"):
        world.git.merge_to_main(BRANCH, KEY)
    assert git(world.checkout, "rev-parse", "main") == main
    assert git(world.remote, "rev-parse", "main") == main


def test_merge_refuses_unpushed_commits_on_main(cloned: World) -> None:
    commit(cloned.checkout, "web/stray.php", "<?php\n", "Stray commit on main")
    git(cloned.colleague, "push", "-q", "origin", f"main:{BRANCH}")
    with pytest.raises(GitError, match="1 commit.* not on the remote"):
        cloned.git.merge_to_main(BRANCH, KEY)


def test_merge_without_a_git_identity_says_how_to_set_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened(world)
    git(world.checkout, "push", "-q")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{role}_NAME")
        monkeypatch.delenv(f"GIT_{role}_EMAIL")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.useConfigOnly")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "true")
    main = git(world.remote, "rev-parse", "main")
    with pytest.raises(GitError, match="git config --global user.email"):
        world.git.merge_to_main(BRANCH, KEY)
    assert git(world.checkout, "status", "--porcelain") == ""
    assert git(world.remote, "rev-parse", "main") == main


def test_tag_is_annotated_and_pushed(cloned: World) -> None:
    head = cloned.git.resolve("HEAD")
    cloned.git.tag("deploy-2024-05-01", message="Production deploy")
    assert git(cloned.remote, "cat-file", "-t", "deploy-2024-05-01") == "tag"
    assert git(cloned.remote, "rev-parse", "deploy-2024-05-01^{commit}") == head
    body = git(cloned.remote, "tag", "-l", "--format=%(contents)", "deploy-2024-05-01")
    assert body == "Production deploy"
    cloned.git.tag("deploy-2024-05-01")  # the same tag again is fine
    commit(cloned.checkout, "web/x.php", "<?php\n", "Later")
    with pytest.raises(GitError, match="already exists on another commit"):
        cloned.git.tag("deploy-2024-05-01")
    with pytest.raises(GitError, match="not a valid tag name"):
        cloned.git.tag("bad name")


# -- dry runs --------------------------------------------------------------------------------


def test_dry_run_changes_nothing_but_logs_the_commands(world: World) -> None:
    opened(world)
    git(world.checkout, "push", "-q")
    git(world.checkout, "switch", "-q", "main")
    before, remote_before = world.checkout_state(), world.remote_refs()
    reporter = ListReporter(dry_run=True)
    dry = Git(world.site, reporter)
    assert dry.open_branch("ACME-13", "Other work").branch == "ACME-13-other-work"
    assert dry.merge_to_main(BRANCH, KEY) == ""
    dry.tag("deploy-1", ref="main")
    dry.checkout(BRANCH)
    assert world.checkout_state() == before and world.remote_refs() == remote_before
    for command in (
        "$ git switch --no-track -c ACME-13-other-work origin/main",
        "$ git push --set-upstream origin ACME-13-other-work",
        "$ git pull --ff-only origin main",
        f"$ git merge --no-ff --no-edit -m 'ACME-12: merge {BRANCH}' origin/{BRANCH}",
        "$ git push origin main",
        "$ git push origin refs/tags/deploy-1",
        f"$ git switch {BRANCH}",
    ):
        assert command in reporter.lines


def test_dry_run_without_a_checkout_creates_nothing(world: World) -> None:
    reporter = ListReporter(dry_run=True)
    status = Git(world.site, reporter).open_branch(KEY, SUMMARY)
    assert status.head is None and not world.checkout.exists()
    assert any(line.startswith("$ git clone ") for line in reporter.lines)
    assert f"$ git push --set-upstream origin {BRANCH}" in reporter.lines
    assert git(world.remote, "branch", "--list", BRANCH) == ""


# -- remotes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("repo", ["{tmp}/nowhere.git", "file:///nonexistent/acme.git"])
def test_unreachable_remote_is_one_clear_sentence(tmp_path: Path, repo: str) -> None:
    url = repo.format(tmp=tmp_path)
    site = make_site(url, tmp_path / "checkout")
    with pytest.raises(RemoteUnreachable) as caught:
        Git(site, ListReporter()).ensure_checkout()
    message = str(caught.value)
    assert message.startswith(f"cannot reach the git remote {url} of acme-www (")
    assert message.endswith("check repo in sites.toml, the network and your credentials")
    assert "\n" not in message
    assert not (tmp_path / "checkout").exists()


def test_a_hanging_remote_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hang = tmp_path / "ssh-hang"
    hang.write_text("#!/bin/sh\nsleep 60\n")
    hang.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(hang))
    site = make_site("ssh://git.example/acme.git", tmp_path / "checkout")
    with pytest.raises(RemoteUnreachable, match=r"did not finish within 0.5 s: check the network"):
        Git(site, ListReporter(), timeout=0.5).ensure_checkout()


def test_git_never_prompts_and_speaks_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen"
    spy = tmp_path / "ssh-spy"
    spy.write_text(f'#!/bin/sh\necho "$GIT_TERMINAL_PROMPT $LC_ALL" > {seen}\nexit 255\n')
    spy.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(spy))
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    site = make_site("ssh://git.example/acme.git", tmp_path / "checkout")
    with pytest.raises(RemoteUnreachable, match="(?i)could not read from remote repository"):
        Git(site, ListReporter()).ensure_checkout()
    assert seen.read_text().split() == ["0", "C"]
    assert os.environ["LC_ALL"] == "de_DE.UTF-8"


# -- a security update's branch --------------------------------------------------------------

UPDATE_BRANCH = "ACME-40-SA-CORE-2026-001"
LOCK = '{"packages": [{"name": "drupal/core", "version": "10.3.6"}]}\n'


def test_a_named_branch_is_made_from_main_once_and_pushed(cloned: World) -> None:
    status = cloned.git.open_named_branch(UPDATE_BRANCH)
    main = git(cloned.remote, "rev-parse", "main")
    assert (status.branch, status.pushed, status.ahead) == (UPDATE_BRANCH, True, 0)
    assert git(cloned.remote, "rev-parse", UPDATE_BRANCH) == main

    again = cloned.git.open_named_branch(UPDATE_BRANCH)
    assert again.head == status.head
    branches = git(cloned.remote, "for-each-ref", "--format=%(refname)", "refs/heads/")
    assert branches.splitlines() == ["refs/heads/ACME-40-SA-CORE-2026-001", "refs/heads/main"]


def test_the_update_commit_is_made_once_even_when_redone_after_a_crash(cloned: World) -> None:
    cloned.git.open_named_branch(UPDATE_BRANCH)
    files = {"composer.lock": LOCK}
    first = cloned.git.commit_files(UPDATE_BRANCH, files, "ACME-40: update drupal/core")
    # A crash before the push: the run starts the step again from what origin has.
    second = cloned.git.commit_files(UPDATE_BRANCH, files, "ACME-40: update drupal/core")
    assert first and second
    pushed = cloned.git.push_branch(UPDATE_BRANCH)
    assert pushed == second == git(cloned.remote, "rev-parse", UPDATE_BRANCH)
    ahead = git(cloned.remote, "rev-list", "--count", f"main..{UPDATE_BRANCH}")
    assert ahead == "1"
    assert git(cloned.remote, "show", f"{UPDATE_BRANCH}:composer.lock") + "\n" == LOCK
    assert cloned.git.commit_files(UPDATE_BRANCH, files, "again") is None
