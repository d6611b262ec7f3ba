"""The git adapter and the ticket branch service, on the git command line.

Each ticket is worked on its own branch (`branch_name`), opened from the site's main branch on
the remote and pushed at once; after QA it is merged into main with a merge commit, and a
production deploy is tagged. `Git` drives one site's local checkout (`Site.checkout`), whose
`origin` is `Site.repo`.

Every git command has a timeout, cannot ask for a password (no terminal, GIT_TERMINAL_PROMPT=0),
answers in English (LC_ALL=C) and is logged to the reporter as a `$ git …` line. In a dry run
the commands that would change the checkout or the remote are logged instead of run; reads
still run, and so does `git fetch`, which only refreshes `origin/*` and keeps the plan accurate.

The runner, and the exception tree (GitError and the five kinds below it), live in
`core.gitcmd`; the exceptions are importable from here too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from triage.core.errors import ConfigError
from triage.core.jobs.reporting import Reporter
from triage.core.sites.gitcmd import (
    GitError,
    GitRunner,
    MergeConflict,
    UnknownRef,
)
from triage.core.sites.gitdiff import LOG_FORMAT, CommitLine, FileStat, parse_log, parse_numstat
from triage.core.sites.inventory import Site

ORIGIN = "origin"
SLUG_MAX = 40

_TRANSLITERATE = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
     "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "'": "", "’": ""}
)  # fmt: skip


@dataclass(frozen=True)
class BranchStatus:
    """Where a ticket's branch stands, as of the last fetch; ahead/behind are vs origin/<main>."""

    branch: str
    exists_locally: bool
    pushed: bool
    ahead: int
    behind: int
    head: str | None


def slugify(summary: str, limit: int = SLUG_MAX) -> str:
    """Lowercase ASCII words of `summary` joined by hyphens, cut at a word to `limit` chars."""
    text = unicodedata.normalize("NFKD", summary.translate(_TRANSLITERATE))
    words = re.findall(r"[a-z0-9]+", text.encode("ascii", "ignore").decode().lower())
    slug = ""
    for word in words:
        longer = f"{slug}-{word}" if slug else word
        if len(longer) > limit:
            break
        slug = longer
    return slug or (words[0][:limit] if words else "")


def branch_name(site: Site, key: str, summary: str) -> str:
    """The name of a ticket's branch: the site's branch_pattern with {key} and {slug} filled."""
    clean_key = re.sub(r"[^A-Za-z0-9_-]+", "", key.strip())
    if not clean_key:
        raise ValueError(f"a ticket key is needed to name a branch, got {key!r}")
    try:
        name = site.branch_pattern.format(key=clean_key, slug=slugify(summary))
    except (KeyError, IndexError, ValueError):
        raise ConfigError(
            f"branch_pattern {site.branch_pattern!r} of site {site.id} is wrong: "
            'use only {key} and {slug}, e.g. "{key}-{slug}"'
        ) from None
    return re.sub(r"-{2,}", "-", name).strip("-/.")


def _local(branch: str) -> str:
    return f"refs/heads/{branch}"


def _remote(branch: str) -> str:
    return f"refs/remotes/{ORIGIN}/{branch}"


def _short(ref: str) -> str:
    return ref.removeprefix("refs/heads/").removeprefix("refs/remotes/")


def _files(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown if len(names) <= 3 else f"{shown} and {len(names) - 3} more"


class Git(GitRunner):
    """One site's local checkout and its remote, driven through the git command line."""

    def __init__(self, site: Site, reporter: Reporter, timeout: float = 120.0) -> None:
        super().__init__(site, reporter, timeout)
        self.main = site.main_branch
        self._origin_main = _remote(site.main_branch)

    # -- reads ------------------------------------------------------------------------------

    def _ahead_behind(self, ref: str) -> tuple[int, int]:
        out = self._git("rev-list", "--left-right", "--count", f"{self._origin_main}...{ref}").out
        behind, ahead = out.split()
        return int(ahead), int(behind)

    def _require_main(self) -> None:
        if not self._refs(self._origin_main):
            raise UnknownRef(
                f"the remote of {self.site.id} has no branch {self.main!r}: "
                "check main_branch in sites.toml"
            )

    def _branch_ref(self, branch: str, prefer_remote: bool = False) -> str:
        """The full ref of a ticket's branch: the local one, else the one on the remote."""
        local, remote = _local(branch), _remote(branch)
        refs = self._refs(local, remote)
        for ref in (remote, local) if prefer_remote else (local, remote):
            if ref in refs:
                return ref
        raise self._unknown(branch)

    def _unknown(self, ref: str) -> UnknownRef:
        return UnknownRef(
            f"no branch, tag or commit {ref!r} in {self.site.id}: "
            "check the name, or fetch first if it was pushed just now"
        )

    # -- public reads -------------------------------------------------------------------------

    def status(self, branch: str) -> BranchStatus:
        """Where `branch` stands against origin/<main>, as of the last fetch (no network)."""
        local, remote = _local(branch), _remote(branch)
        refs = self._refs(local, remote)
        head = refs.get(local) or refs.get(remote)
        if head is None:
            return BranchStatus(branch, False, False, 0, 0, None)
        self._require_main()
        ahead, behind = self._ahead_behind(head)
        pushed = remote in refs and (refs[remote] == head or self._is_ancestor(head, remote))
        return BranchStatus(branch, local in refs, pushed, ahead, behind, head)

    def diff(self, branch: str, stat: bool = False) -> str:
        """What `branch` changes against origin/<main> (three-dot: since it forked), as text."""
        ref = self._branch_ref(branch)
        self._require_main()
        options = ["--stat"] if stat else []
        spec = f"{self._origin_main}...{ref}"
        return self._git("diff", "--no-color", "--no-ext-diff", *options, spec, "--").out

    def pushed_head(self, branch: str) -> str | None:
        """The sha of `branch` on the remote as of the last fetch; None when it is not pushed."""
        remote = _remote(branch)
        refs = self._refs(remote, self._origin_main)
        if self._origin_main not in refs:
            self._require_main()
        return refs.get(remote)

    # The reads below take the branch's commit (from `pushed_head`), so that what a reviewer
    # reads is one commit, whatever is pushed meanwhile, and no ref is looked up again.

    def commits_ahead(self, head: str, limit: int = 500) -> list[CommitLine]:
        """The commits of `head` that main has not, newest first (at most `limit`)."""
        args = ("log", f"--max-count={limit}", f"--format={LOG_FORMAT}")
        return parse_log(self._git(*args, f"{self._origin_main}..{head}", "--").out)

    def numstat(self, head: str) -> list[FileStat]:
        """Each file `head` changes against main since it forked, with lines added and deleted."""
        spec = f"{self._origin_main}...{head}"
        return parse_numstat(self._git("diff", "--numstat", "-z", "-M", spec, "--").out)

    def file_diff(self, head: str, path: str | None = None, old_path: str | None = None) -> str:
        """The three-dot diff of one file (both paths of a rename), or of every file."""
        paths = [f":(literal){name}" for name in (path, old_path) if name]
        spec = f"{self._origin_main}...{head}"
        args = ("diff", "--no-color", "--no-ext-diff", "-M", spec, "--", *paths)
        return self._git(*args).out

    def is_clean(self) -> bool:
        """True when no tracked file has uncommitted changes (untracked files do not count)."""
        return not self._changed_files()

    def is_merged(self, branch: str) -> bool:
        """True when the branch's head is in origin/<main> (a branch without commits is, too)."""
        ref = self._branch_ref(branch)
        self._require_main()
        return self._is_ancestor(ref, self._origin_main)

    def resolve(self, ref: str) -> str:
        """The full sha of a branch (local or on origin), tag or commit."""
        if ref and not ref.startswith("-"):
            for candidate in (ref, f"{ORIGIN}/{ref}"):
                sha = self._sha(candidate)
                if sha:
                    return sha
        raise self._unknown(ref)

    # -- changes ------------------------------------------------------------------------------

    def ensure_checkout(self) -> Path:
        """Clone site.repo into the checkout when it is missing, else fetch from origin."""
        if self._missing():
            if not self.reporter.dry_run:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._git(
                "clone", "--origin", ORIGIN, "--branch", self.main, "--",
                self.site.repo, str(self.path),
                write=True, remote=True, cwd=self.path.parent,
            )  # fmt: skip
        elif not (self.path / ".git").exists():
            raise GitError(
                f"{self.path} is not a git checkout: move it aside, or point checkout of "
                f"{self.site.id} in sites.toml elsewhere"
            )
        else:
            self._git("fetch", "--prune", ORIGIN, remote=True)
        return self.path

    def open_branch(self, key: str, summary: str) -> BranchStatus:
        """Create (or reuse) the ticket's branch from origin/<main>, switch to it and push it."""
        branch = branch_name(self.site, key, summary)
        self.ensure_checkout()
        if self._missing():  # a dry run that only printed the clone
            self._git("switch", "--no-track", "-c", branch, f"{ORIGIN}/{self.main}", write=True)
        else:
            self._require_clean()
            self._require_main()
            self._switch_branch(branch, start=f"{ORIGIN}/{self.main}")
        self._git("push", "--set-upstream", ORIGIN, branch, write=True, remote=True)
        if self._missing():
            return BranchStatus(branch, False, False, 0, 0, None)
        return self.status(branch)

    def open_named_branch(self, branch: str) -> BranchStatus:
        """Create (or reuse) a branch of this name from origin/<main>, switch to it, push it."""
        self.ensure_checkout()
        self._require_clean()
        self._require_main()
        self._switch_branch(branch, start=f"{ORIGIN}/{self.main}")
        self._git("push", "--set-upstream", ORIGIN, branch, write=True, remote=True)
        return self.status(branch)

    def commit_files(self, branch: str, files: dict[str, str], message: str) -> str | None:
        """Commit these files' new text on the branch, as pushed plus this one commit.

        The branch is first put back where origin has it, so a second run after a crash
        makes the same one commit. The new commit's sha; None when nothing changed.
        """
        self._require_clean()
        self._switch_branch(branch, start=None)
        if _remote(branch) in self._refs(_remote(branch)):
            self._git("reset", "--hard", f"{ORIGIN}/{branch}", write=True)
        for name, text in files.items():
            (self.path / name).write_text(text, encoding="utf-8")
        self._git("add", "--", *files, write=True)
        if not self._changed_files():
            return None
        self._git("commit", "--quiet", "--message", message, write=True)
        return self.resolve("HEAD")

    def push_branch(self, branch: str) -> str:
        """Push the local branch to origin; the sha pushed."""
        self._git("push", ORIGIN, f"{_local(branch)}:{_local(branch)}", write=True, remote=True)
        return self.resolve(_local(branch))

    def _switch_branch(self, branch: str, start: str | None) -> None:
        """Switch to a local branch (fast-forwarded to origin), one from origin, or a new one."""
        local, remote = _local(branch), _remote(branch)
        refs = self._refs(local, remote)
        if local in refs:
            self._git("switch", branch, write=True)
            if remote in refs and refs[remote] != refs[local]:
                if self._is_ancestor(local, remote):
                    self._git("merge", "--ff-only", f"{ORIGIN}/{branch}", write=True)
        elif remote in refs:
            self._git("switch", "--track", "-c", branch, f"{ORIGIN}/{branch}", write=True)
        elif start is not None:
            self._git("switch", "--no-track", "-c", branch, start, write=True)
        else:
            raise self._unknown(branch)

    def checkout(self, ref: str) -> str:
        """Switch to a branch, or detach at a tag or commit; returns the sha checked out."""
        self._require_clean()
        is_branch = not ref.startswith("-") and bool(self._refs(_local(ref), _remote(ref)))
        if is_branch:
            self._switch_branch(ref, start=None)
        else:
            self._git("switch", "--detach", self.resolve(ref), write=True)
        return self.resolve(ref) if self.reporter.dry_run else self.resolve("HEAD")

    def check_mergeable(self, branch: str) -> None:
        """Refuse (MergeConflict, DirtyCheckout, …) unless `merge_to_main` would go through.

        Reads only: the merge is tried in memory (`git merge-tree`), nothing is written.
        """
        self._require_clean()
        self._require_main()
        source = self._branch_ref(branch, prefer_remote=True)
        self._require_main_pushed()
        if self._is_ancestor(source, self._origin_main):
            return
        args = ("merge-tree", "--write-tree", "--name-only", self._origin_main, source)
        result = self._git(*args, check=False)
        if result.code == 1:
            # The first line is the tree; then the conflicted files, then the messages.
            lines = result.out.split("\n\n", 1)[0].splitlines()[1:]
            raise MergeConflict(
                f"{branch} conflicts with {self.main} in {_files(lines)}: merge {self.main} "
                "into the branch, resolve, push and deploy again (nothing was merged)"
            )
        if result.code != 0:
            raise self._error(args, result, False, self.path)

    def merge_to_main(self, branch: str, key: str) -> str:
        """Merge the pushed branch into main with a merge commit and push main; its sha.

        A dry run merges nothing and returns "" (or main's sha when already merged).
        """
        self.ensure_checkout()
        self._require_clean()
        self._require_main()
        source = self._branch_ref(branch, prefer_remote=True)
        self._require_main_pushed()
        self._git("switch", self.main, write=True)
        self._git("pull", "--ff-only", ORIGIN, self.main, write=True, remote=True)
        if self._is_ancestor(source, self._origin_main):
            self.reporter.log(f"{branch} is already merged into {self.main}")
            return self.resolve(self._origin_main)
        self._merge(source, f"{key}: merge {branch}", branch)
        if self.reporter.dry_run:
            self._git("push", ORIGIN, self.main, write=True, remote=True)
            return ""
        sha = self.resolve("HEAD")
        self._push_merge()
        return sha

    def _require_main_pushed(self) -> None:
        """Refuse when local main holds commits origin has not: the merge would push them."""
        if not self._refs(_local(self.main)):
            return
        ahead = self._git("rev-list", "--count", f"{self._origin_main}..{_local(self.main)}").out
        if int(ahead):
            raise GitError(
                f"{self.main} in {self.path} has {int(ahead)} commit(s) that are not on the "
                f"remote: push them on their own or drop them, then merge again"
            )

    def _merge(self, source: str, message: str, branch: str) -> None:
        args = ("merge", "--no-ff", "--no-edit", "-m", message, _short(source))
        result = self._git(*args, write=True, check=False)
        if result.code == 0:
            return
        conflicted = self._git("diff", "--name-only", "--diff-filter=U").out.split()
        if self._sha("MERGE_HEAD"):
            self._git("merge", "--abort", write=True)
        if conflicted:
            raise MergeConflict(
                f"{branch} conflicts with {self.main} in {_files(conflicted)}: merge "
                f"{self.main} into the branch, resolve, push and merge again (this merge "
                f"was aborted, {self.main} is unchanged)"
            )
        raise self._error(args, result, False, self.path)

    def _push_merge(self) -> None:
        """Push main; when that fails, take the merge back so a retry starts clean."""
        try:
            self._git("push", ORIGIN, self.main, write=True, remote=True)
        except GitError:
            self._git("reset", "--keep", f"{ORIGIN}/{self.main}", write=True)
            self.reporter.log(f"undid the local merge: {self.main} is back at origin")
            raise

    def tag(self, name: str, ref: str = "HEAD", message: str = "") -> None:
        """Make an annotated tag on `ref` and push it; a tag already on that commit is kept."""
        valid = self._git("check-ref-format", f"refs/tags/{name}", check=False).code == 0
        if not valid or name.startswith("-"):
            raise GitError(f"{name!r} is not a valid tag name: use letters, digits, dots, hyphens")
        sha = self.resolve(ref)
        existing = self._sha(f"refs/tags/{name}")
        if existing is None:
            self._git("tag", "--annotate", "--message", message or name, name, sha, write=True)
        elif existing != sha:
            raise GitError(
                f"tag {name!r} already exists on another commit in {self.site.id}: "
                "pick another name"
            )
        self._git("push", ORIGIN, f"refs/tags/{name}", write=True, remote=True)
