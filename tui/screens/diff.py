"""The diff of a ticket's branch against main: its files, its commits, and the verdict keys.

The screen opens at once and fills in as workers bring the data: first the commits and the
changed files (one core call), then the diff of the file shown, read when it is first
shown and kept. `a` approves (after a confirm), `s` sends the ticket back with a comment
that starts with the `file:line` under the cursor.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from triage.core.review.items import ReviewDiff
from triage.core.review.service import Reviews
from triage.core.sites.gitdiff import DiffLine, FileStat
from triage.storage.errors import TriageError
from triage.tui.safe_text import line
from triage.tui.screens.approve import ConfirmApprove
from triage.tui.screens.dialogs import CommentDialog
from triage.tui.widgets.diff_view import DiffView


def file_label(file: FileStat, width: int) -> Text:
    """A file in the list: its counts, then its path; a narrow list keeps the file's name."""
    if file.binary:
        counts = Text(f"{'binary':>6}     ", "dim")
    else:
        counts = Text.assemble(
            (f"{'+' + str(file.added):>6}", "green"), (f" {'−' + str(file.deleted):<5}", "red")
        )
    name = line(file.path)
    if file.old_path:
        name = f"{line(file.old_path)} → {name}"
    room = max(width - counts.cell_len - 1, 4)
    if len(name) > room:
        base = name.rsplit("/", 1)[-1]
        name = base if len(base) <= room else "…" + name[-(room - 1) :]
    return Text.assemble(counts, " ", name)


KEYS = "]/[ file  }/{ hunk  j/k line  a approve  s send back  esc back  ? keys"
"""The key line: one Static, as Textual's Footer costs more than the diff to draw."""


class DiffScreen(Screen[None]):
    """One ticket's branch, file by file, with its commits."""

    AUTO_FOCUS = "#diff-view"

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="diff.back"),
        Binding("right_square_bracket,n", "file(1)", "Next file", id="diff.next_file"),
        Binding("left_square_bracket,p", "file(-1)", "Previous file", id="diff.prev_file"),
        Binding("a", "approve", "Approve…", id="diff.approve", tooltip="Approve and move to QA"),
        Binding("s", "send_back", "Send back…", id="diff.send_back", tooltip="Comment, Needs Work"),
    ]

    class Opened(Message):
        """The commits and changed files of the branch were read."""

        def __init__(self, diff: ReviewDiff) -> None:
            super().__init__()
            self.diff = diff

    class FileRead(Message):
        """One file's diff was read."""

        def __init__(self, index: int, lines: list[DiffLine]) -> None:
            super().__init__()
            self.index = index
            self.lines = lines

    class Failed(Message):
        """Reading the branch failed; the sentence says why."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class Decided(Message):
        """The reviewer gave a verdict on the ticket (approved, or sent back)."""

        def __init__(
            self, reviews: Reviews, key: str, approved: bool, comment: str = "", seen: str = ""
        ) -> None:
            super().__init__()
            self.reviews = reviews
            self.key = key
            self.seen = seen
            """The commit the reviewer read."""
            self.approved = approved
            self.comment = comment

    def __init__(self, reviews: Reviews, key: str) -> None:
        super().__init__()
        self.reviews = reviews
        self.key = key
        self.diff: ReviewDiff | None = None
        self.file_index = -1
        self._read: dict[int, list[DiffLine]] = {}
        self._reading: set[int] = set()
        """Files whose diff a worker is reading now."""

    def compose(self) -> ComposeResult:
        yield Static(f"{line(self.key)}  reading the branch…", id="diff-title")
        with Horizontal(id="diff-body"):
            with Vertical(id="diff-side"):
                yield OptionList(id="diff-files")
                yield Static("", id="diff-commits")
            yield DiffView(id="diff-view")
        yield Static(KEYS, id="diff-keys")

    def on_mount(self) -> None:
        self.read_branch()

    @work(thread=True, exclusive=True, group="diff-branch", exit_on_error=False)
    def read_branch(self) -> None:
        """Read the commits and the changed files, then at once the first file's diff."""
        try:
            diff = self.reviews.open(self.key)
            self.post_message(self.Opened(diff))
            first = next((n for n, f in enumerate(diff.files) if not f.binary), None)
            if first is not None and not diff.item.problem:
                self.post_message(
                    self.FileRead(first, self.reviews.file_diff(diff, diff.files[first]))
                )
        except TriageError as error:
            self.post_message(self.Failed(str(error)))

    @work(thread=True, group="diff-file", exit_on_error=False)
    def read_file(self, diff: ReviewDiff, index: int) -> None:
        """Read one file's diff."""
        try:
            lines = self.reviews.file_diff(diff, diff.files[index])
        except TriageError as error:
            self.post_message(self.Failed(str(error)))
            return
        self.post_message(self.FileRead(index, lines))

    @on(Opened)
    def show_branch(self, event: Opened) -> None:
        self.diff = diff = event.diff
        item = diff.item
        title = Text.assemble((line(item.key), "bold"), "  ", line(item.summary))
        if item.branch:
            title.append(f"  {line(item.branch)}", "dim")
        if item.head:
            title.append(f" @ {item.head[:10]}", "dim")
        title.append(f"  {line(item.size())}")
        title.truncate(max(self.size.width - 2, 10), overflow="ellipsis")
        self.query_one("#diff-title", Static).update(title)
        files = self.query_one("#diff-files", OptionList)
        width = files.scrollable_content_region.width - 1
        files.set_options(Option(file_label(f, width)) for f in diff.files)
        commits = Text(no_wrap=True, overflow="ellipsis")
        commits.append(f"{len(diff.commits)} commits\n", "bold")
        for commit in diff.commits[:50]:
            commits.append(f"{commit.sha[:7]} ", "dim")
            commits.append(line(commit.subject) + "\n")
        self.query_one("#diff-commits", Static).update(commits)
        if item.problem:
            self.query_one(DiffView).show("", [], item.problem)
        elif not diff.files:
            self.query_one(DiffView).show("", [], "the branch changes no file against main")
        else:
            first = next((n for n, f in enumerate(diff.files) if not f.binary), None)
            if first is not None:
                self._reading.add(first)  # read_branch reads it right after the list
            self.select_file(first or 0)

    def select_file(self, index: int) -> None:
        """Show file `index`: from what was read, or read it now."""
        if self.diff is None or not 0 <= index < len(self.diff.files):
            return
        self.file_index = index
        files = self.query_one("#diff-files", OptionList)
        if files.highlighted != index:
            files.highlighted = index
        if self.diff.files[index].binary:
            self._read[index] = []
        if index in self._read:
            self._show_file(index)
        elif index not in self._reading:
            self._reading.add(index)
            self.read_file(self.diff, index)

    def _show_file(self, index: int) -> None:
        assert self.diff is not None
        file = self.diff.files[index]
        note = "binary file: not shown" if file.binary else ""
        lines = [] if file.binary else self._read[index]
        self.query_one(DiffView).show(file.path, lines, note)

    @on(FileRead)
    def show_file(self, event: FileRead) -> None:
        self._read[event.index] = event.lines
        self._reading.discard(event.index)
        if event.index == self.file_index:
            self._show_file(event.index)

    @on(Failed)
    def show_failure(self, event: Failed) -> None:
        self.query_one(DiffView).show("", [], event.error)
        self.notify(event.error, severity="error")

    @on(OptionList.OptionHighlighted, "#diff-files")
    def file_chosen(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.file_index:
            self.select_file(event.option_index)

    def action_file(self, step: int) -> None:
        self.select_file(self.file_index + step)

    @work(exclusive=True, group="diff-verdict")
    async def action_approve(self) -> None:
        """Confirm, then approve."""
        if self.diff is None:
            return
        if self.diff.item.problem:
            self.notify(f"Cannot approve: {self.diff.item.problem}", severity="warning")
            return
        if await self.app.push_screen_wait(ConfirmApprove(self.diff.item)):
            seen = self.diff.item.head or ""
            self.post_message(self.Decided(self.reviews, self.key, approved=True, seen=seen))

    @work(exclusive=True, group="diff-verdict")
    async def action_send_back(self) -> None:
        """Ask what to change (quoting the cursor's file:line), then send it back."""
        view = self.query_one(DiffView)
        quote = f"{view.quote()}: " if view.path else ""
        comment = await self.app.push_screen_wait(
            CommentDialog(
                f"Send {self.key} back to Needs Work",
                "Say what to change; the comment goes to Jira with the move.",
                text=quote,
            )
        )
        if comment:
            self.post_message(self.Decided(self.reviews, self.key, approved=False, comment=comment))
