"""Jobs: the list of running and past site operations, and one job's live log."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Log, Static

from triage.core.jobs.runner import JobRunner
from triage.storage.models import Job, JobState
from triage.tui.safe_text import line, rich_line

STATE_STYLE = {
    JobState.QUEUED: "dim",
    JobState.RUNNING: "bold",
    JobState.SUCCEEDED: "green",
    JobState.FAILED: "bold red",
    JobState.CANCELLED: "yellow",
    JobState.INTERRUPTED: "yellow",
}


def describe(job: Job) -> str:
    """One line naming a job."""
    where = " → ".join(p for p in (job.site, job.env) if p)
    extra = " (dry run)" if job.dry_run else ""
    return line(f"#{job.id} {job.kind} {where} {job.ticket_key or ''}{extra}").strip()


class JobScreen(Screen[None]):
    """One job: its steps with their times, and its log, updated live."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="job.back"),
        Binding("c", "cancel_job", "Cancel job", id="job.cancel"),
    ]

    def __init__(self, runner: JobRunner, job_id: int) -> None:
        super().__init__()
        self.runner = runner
        self.job_id = job_id
        self.after = 0

    def compose(self) -> ComposeResult:
        yield Label("", id="job-title")
        yield Static("", id="job-steps")
        yield Log(id="job-log", highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_job()
        self.set_interval(0.25, self.refresh_job)

    def refresh_job(self) -> None:
        """Show the job's state, steps and the log lines written since the last look."""
        job = self.runner.job(self.job_id)
        state = Text(job.state.value, style=STATE_STYLE.get(job.state, ""))
        title = Text.assemble((describe(job), "bold"), "  ", state)
        if job.error:
            title.append(f"  {line(job.error)}", style="red")
        elif job.summary:
            title.append(f"  {line(job.summary)}")
        self.query_one("#job-title", Label).update(title)
        steps = Text()
        for step in self.runner.steps(self.job_id):
            seconds = f"{step.duration_ms / 1000:.1f} s" if step.duration_ms is not None else "…"
            steps.append(
                f"  {step.state.value:<10} {line(step.name):<40} {seconds}\n",
                style=STATE_STYLE.get(step.state, ""),
            )
        self.query_one("#job-steps", Static).update(steps)
        lines = self.runner.log(self.job_id, self.after)
        if lines:
            self.after = max(int(entry.id or 0) for entry in lines)
            # Job output is outside text: one clean line each, no terminal control.
            self.query_one(Log).write_lines([line(entry.line) for entry in lines])

    def action_cancel_job(self) -> None:
        job = self.runner.cancel(self.job_id)
        self.notify(f"Cancelling {describe(job)}: it stops at its next step.")


class JobsScreen(Screen[None]):
    """Every job, newest first; enter opens one."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="jobs.back"),
        Binding("enter", "open_job", "Open", id="jobs.open"),
    ]

    def __init__(self, runner: JobRunner) -> None:
        super().__init__()
        self.runner = runner

    def compose(self) -> ComposeResult:
        yield Label(Text("Jobs", style="bold"), id="jobs-title")
        yield Static(
            "No jobs yet: press x on a ticket to open its branch, clone prod or deploy.",
            id="jobs-empty",
            classes="dialog-help",
        )
        with VerticalScroll():
            yield DataTable(id="jobs-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "action", "site", "env", "ticket", "state", "started", "time")
        self.refresh_jobs()
        self.set_interval(1.0, self.refresh_jobs)
        table.focus()

    def refresh_jobs(self) -> None:
        """Reload the list, keeping the cursor row."""
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for job in self.runner.jobs(200):
            started = job.started.strftime("%m-%d %H:%M:%S") if job.started else "—"
            took = f"{job.duration_ms / 1000:.1f} s" if job.duration_ms is not None else "…"
            table.add_row(
                str(job.id),
                rich_line(job.kind),
                rich_line(job.site),
                rich_line(job.env),
                rich_line(job.ticket_key),
                Text(job.state.value, style=STATE_STYLE.get(job.state, "")),
                started,
                took,
                key=str(job.id),
            )
        self.query_one("#jobs-empty", Static).display = table.row_count == 0
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def action_open_job(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.app.push_screen(JobScreen(self.runner, int(key or 0)))

    @on(DataTable.RowSelected, "#jobs-table")
    def open_selected_job(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table has the focus and takes the key): open that job."""
        if event.row_key.value:
            self.app.push_screen(JobScreen(self.runner, int(event.row_key.value)))
