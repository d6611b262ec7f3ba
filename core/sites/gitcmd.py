"""The git command runner of `core.git`: its environment, redaction, timeouts and errors.

Exceptions::

    TriageError (core.errors)
    └── GitError                a git command failed; the message says which and what to do
        ├── UnknownRef          no branch, tag or commit by that name
        ├── DirtyCheckout       the checkout has uncommitted changes to tracked files
        ├── RemoteUnreachable   the remote cannot be reached: URL, network or credentials
        ├── PushRejected        the remote refused a push: someone pushed first, or a hook said no
        └── MergeConflict       the branch conflicts with main; the merge was aborted
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from triage.core.jobs.reporting import Reporter
from triage.core.redact import mask
from triage.core.sites.inventory import Site
from triage.storage.errors import TriageError

_REPO_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")
_UNREACHABLE = (
    "could not read from remote", "does not appear to be a git repository", "does not exist",
    "unable to access", "could not resolve", "connection refused", "connection timed out",
    "authentication failed", "terminal prompts disabled", "permission denied",
    "repository not found", "host key verification failed", "could not read username",
)  # fmt: skip
_REJECTED = ("[rejected]", "[remote rejected]", "failed to push")
_NO_IDENTITY = ("please tell me who you are", "identity unknown", "empty ident name")


class GitError(TriageError):
    """A git command failed; the message names it and says what to do."""


class UnknownRef(GitError):
    """No branch, tag or commit by that name."""


class DirtyCheckout(GitError):
    """The checkout has uncommitted changes, so switching branches could lose work."""


class RemoteUnreachable(GitError):
    """The remote could not be reached: a wrong URL, no network, or no credentials."""


class PushRejected(GitError):
    """The remote refused a push."""


class MergeConflict(GitError):
    """The branch conflicts with main; the merge was aborted and main left as it was."""


@dataclass(frozen=True)
class _Result:
    code: int
    out: str
    err: str


def _environment() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _REPO_VARIABLES}
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GCM_INTERACTIVE="never")
    return env


def _redact(text: str) -> str:
    return mask(text)


def _reason(text: str) -> str:
    """The line of git's output that says what went wrong, as a clause."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    telling = [line for line in lines if line.startswith(("fatal:", "error:", "!"))]
    chosen = telling or [line for line in lines if not line.startswith("hint:")] or ["no output"]
    reason = re.sub(r"^(fatal|error):\s*", "", chosen[0])
    return _redact(re.sub(r"\s+", " ", reason).rstrip(".")[:200])


def _kill(process: subprocess.Popen[str]) -> None:
    """Kill git and whatever it started (ssh, helpers): they share its new session."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


class GitRunner:
    """Runs git commands in one site's checkout, logged, bounded in time, errors mapped."""

    def __init__(self, site: Site, reporter: Reporter, timeout: float = 120.0) -> None:
        self.site = site
        self.reporter = reporter
        self.timeout = timeout
        self.path = site.checkout_path

    # -- running git ------------------------------------------------------------------------

    def _git(
        self,
        *args: str,
        write: bool = False,
        remote: bool = False,
        check: bool = True,
        cwd: Path | None = None,
    ) -> _Result:
        """Run one git command; `write` ones are only logged in a dry run."""
        where = cwd or self.path
        self.reporter.log("$ " + _redact(shlex.join(["git", *args])))
        if write and self.reporter.dry_run:
            return _Result(0, "", "")
        if not where.is_dir():
            raise GitError(
                f"the checkout {where} of {self.site.id} does not exist: "
                "open a branch or clone the site first"
            )
        result = self._spawn(args, where, remote)
        if write:
            for line in (result.err + result.out).splitlines():
                if line.strip():
                    self.reporter.log(_redact(line.rstrip()))
        if check and result.code != 0:
            raise self._error(args, result, remote, where)
        return result

    def _spawn(self, args: tuple[str, ...], cwd: Path, remote: bool) -> _Result:
        try:
            process = subprocess.Popen(
                ["git", *args],
                cwd=cwd,
                env=_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=True,  # no controlling terminal: ssh cannot prompt either
            )
        except FileNotFoundError:
            raise GitError(
                "git is not installed: install it (apt install git) and try again"
            ) from None
        try:
            out, err = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            error = RemoteUnreachable if remote else GitError
            raise error(
                f"`git {args[0]}` in {self.site.id} did not finish within {self.timeout:g} s: "
                f"check the network and the remote {_redact(self.site.repo)}, then try again"
            ) from None
        return _Result(process.returncode, out, err)

    def _error(self, args: tuple[str, ...], result: _Result, remote: bool, cwd: Path) -> GitError:
        text = result.err + "\n" + result.out
        lowered = text.lower()
        reason = _reason(text)
        repo = _redact(self.site.repo)
        if remote and any(sign in lowered for sign in _REJECTED):
            return PushRejected(
                f"the remote {repo} refused the push ({reason}): fetch and merge what others "
                "pushed and try again, or ask for access if the branch is protected"
            )
        if remote and any(sign in lowered for sign in _UNREACHABLE):
            return RemoteUnreachable(
                f"cannot reach the git remote {repo} of {self.site.id} ({reason}): "
                "check repo in sites.toml, the network and your credentials"
            )
        if any(sign in lowered for sign in _NO_IDENTITY):
            return GitError(
                'git does not know who you are: run `git config --global user.name "Your Name"`'
                " and `git config --global user.email you@example.com`, then try again"
            )
        command = _redact(shlex.join(["git", *args]))
        return GitError(f"`{command}` failed in {cwd} ({reason}): fix that and try again")

    # -- plumbing reads ---------------------------------------------------------------------

    def _sha(self, ref: str) -> str | None:
        result = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return result.out.strip() if result.code == 0 else None

    def _refs(self, *refs: str) -> dict[str, str]:
        """The sha of each of these full ref names that exists."""
        out = self._git("for-each-ref", "--format=%(refname) %(objectname)", *refs).out
        found: dict[str, str] = {}
        for line in out.splitlines():
            name, _, sha = line.partition(" ")
            if name in refs:
                found[name] = sha
        return found

    def _is_ancestor(self, ref: str, of: str) -> bool:
        args = ("merge-base", "--is-ancestor", ref, of)
        result = self._git(*args, check=False)
        if result.code > 1:
            raise self._error(args, result, False, self.path)
        return result.code == 0

    def _changed_files(self) -> list[str]:
        out = self._git("status", "--porcelain", "--untracked-files=no").out
        return [line[3:] for line in out.splitlines() if line.strip()]

    def _require_clean(self) -> None:
        count = len(self._changed_files())
        if count:
            files = "file" if count == 1 else "files"
            raise DirtyCheckout(
                f"the checkout {self.path} has uncommitted changes in {count} {files}: "
                "commit them or put them aside with `git stash`, then try again"
            )

    def _missing(self) -> bool:
        return not self.path.exists() or (self.path.is_dir() and not any(self.path.iterdir()))
