"""What git prints for a review, parsed; and approvals read back from Jira comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from triage.core.review.items import ReviewItem
from triage.core.sites.gitdiff import FileStat, parse_diff, parse_log, parse_numstat
from triage.core.tracker.approvals import approval_comment, approvals, approver

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"


def test_log_records_keep_subjects_with_any_text() -> None:
    out = f"{SHA}\x1fAna Lima\x1f2026-11-20T10:00:00+00:00\x1fFix: a|b\ttab\x1e\n"
    out += f"{'f' * 40}\x1fTom\x1f2026-11-19T10:00:00+00:00\x1fFirst\x1e\n"
    commits = parse_log(out)
    assert [(c.author, c.subject) for c in commits] == [
        ("Ana Lima", "Fix: a|b\ttab"),
        ("Tom", "First"),
    ]
    assert parse_log("") == []


def test_numstat_reads_binaries_renames_and_odd_names() -> None:
    out = "3\t1\tweb/a b.php\x00-\t-\tlogo.png\x000\t2\t\x00old name.css\x00new\tname.css\x00"
    assert parse_numstat(out) == [
        FileStat("web/a b.php", 3, 1),
        FileStat("logo.png", None, None),
        FileStat("new\tname.css", 0, 2, old_path="old name.css"),
    ]
    assert parse_numstat("") == []
    assert FileStat("logo.png", None, None).binary


def test_diff_lines_carry_the_new_side_line_numbers() -> None:
    text = (
        "diff --git a/x.php b/x.php\nindex 1..2 100644\n--- a/x.php\n+++ b/x.php\n"
        "@@ -10,3 +10,3 @@ function x() {\n a\n-b\n+c\n d\n\\ No newline at end of file\n"
        "@@ -40 +40,2 @@\n+e\n+f\n"
    )
    lines = parse_diff(text)
    assert [line.kind for line in lines] == [
        "meta", "meta", "meta", "meta", "hunk", "context", "del", "add", "context", "meta",
        "hunk", "add", "add",
    ]  # fmt: skip
    numbers = [line.new_line for line in lines if line.kind in ("add", "context")]
    assert numbers == [10, 11, 12, 40, 41]


def test_an_approval_counts_only_from_the_person_it_names() -> None:
    said = approval_comment("Ana Lima", "SUP-1-fix", SHA)
    assert said == "Approved by Ana Lima after review of SUP-1-fix at 0123456789ab"
    assert approver(said, "Ana Lima") == "Ana Lima"
    assert approver(said, "Tom Whitaker") is None  # someone else's comment approves nothing
    assert approver("Approved by Ana Lima, thanks", "Ana Lima") is None
    assert approver("  " + said + "\nLooks good.", "Ana Lima") == "Ana Lima"


def test_the_newest_approval_of_each_ticket_wins() -> None:
    def comment(key: str, author: str, minutes: int) -> dict[str, object]:
        body = approval_comment(author, f"{key}-x", SHA)
        return {"ticket_key": key, "author": author, "body": body,
                "created": AT + timedelta(minutes=minutes)}  # fmt: skip

    found = approvals(
        [
            comment("SUP-1", "Tom", 5),
            comment("SUP-1", "Ana", 1),
            comment("SUP-2", "Ana", 0),
            {"ticket_key": "SUP-3", "author": "Ana", "body": "LGTM", "created": AT},
        ]
    )
    assert found == {"SUP-1": "Tom", "SUP-2": "Ana"}


def test_an_item_says_its_size_or_its_problem() -> None:
    item = ReviewItem("SUP-1", "Fix", "Ana", "acme", "SUP-1-fix", AT, SHA, 1, 3, 20, 4)
    assert item.size() == "1 commit ahead, 3 files +20 −4"
    assert item.size(short=True) == "1 ahead, 3 files +20 −4"
    blocked = item.but(problem="the branch SUP-1-fix is not pushed", short="not pushed")
    assert blocked.size() == "the branch SUP-1-fix is not pushed"
    assert blocked.size(short=True) == "not pushed"
    assert item.as_json()["in_review_since"] == AT.isoformat()
