"""The move rules, move by move, against DESIGN.md's table of the nine statuses."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from triage.core.board.workflow import MoveCheck, TicketFacts, check_move, neighbour
from triage.storage.columns import BoardColumn as C

ME = "Mia Me"
ANN = "Ann Assignee"
REV = "Rob Reviewer"


@dataclass(frozen=True)
class Facts:
    """A ticket as the rules see it."""

    column: C | None = C.TODO
    assignee: str | None = ANN
    branch_ahead: int | None = None
    approved_by: str | None = None
    test_site_passed: bool = False
    prod_deploy_passed: bool = False


#: A ticket with every fact a guard looks for.
READY = Facts(branch_ahead=2, approved_by=REV, test_site_passed=True, prod_deploy_passed=True)


def move(facts: TicketFacts, target: C, actor: str = ME) -> MoveCheck:
    check = check_move(facts, target, actor)
    assert check.target is target
    return check


def assert_allowed(check: MoveCheck) -> None:
    assert check.allowed, check.blocked
    assert check.blocked is None
    assert check.overridable is False


def assert_guarded(check: MoveCheck, *words: str) -> None:
    assert not check.allowed
    assert check.blocked is not None
    assert check.blocked.startswith(f"cannot move to {check.target.value}: ")
    for word in words:
        assert word in check.blocked
    assert check.overridable is True
    assert (check.assign_to_me, check.records_approval) == (False, False)


# --- columns without a guard ---------------------------------------------------------------


@pytest.mark.parametrize("target", [C.TODO, C.READY_TO_DEPLOY])
@pytest.mark.parametrize("facts", [Facts(column=C.IN_PROGRESS), replace(READY, column=C.QA)])
def test_columns_without_a_check_accept_any_ticket(facts: Facts, target: C) -> None:
    check = move(facts, target)

    assert_allowed(check)
    assert check.needs_comment is False
    assert (check.assign_to_me, check.records_approval, check.offers) == (False, False, ())


@pytest.mark.parametrize("target", [C.NEEDS_WORK, C.FEEDBACK])
def test_needs_work_and_feedback_need_a_comment(target: C) -> None:
    check = move(Facts(column=C.IN_PROGRESS), target)

    assert_allowed(check)
    assert check.needs_comment is True
    assert check.assign_to_me is False


@pytest.mark.parametrize(
    "target", [C.TODO, C.IN_PROGRESS, C.CODE_REVIEW, C.QA, C.PO_REVIEW, C.READY_TO_DEPLOY, C.DONE]
)
def test_other_columns_need_no_comment(target: C) -> None:
    assert move(replace(READY, column=C.NEEDS_WORK), target).needs_comment is False


# --- In Progress ---------------------------------------------------------------------------


def test_in_progress_assigns_an_unassigned_ticket_to_me_and_offers_the_branch() -> None:
    check = move(Facts(column=C.TODO, assignee=None), C.IN_PROGRESS)

    assert_allowed(check)
    assert check.assign_to_me is True
    assert check.offers == ("open the ticket's branch", "clone prod to dev")


@pytest.mark.parametrize("assignee", [ANN, ME])
def test_in_progress_keeps_an_assigned_ticket_with_its_assignee(assignee: str) -> None:
    check = move(Facts(column=C.NEEDS_WORK, assignee=assignee), C.IN_PROGRESS)

    assert_allowed(check)
    assert check.assign_to_me is False


def test_in_progress_treats_an_empty_assignee_as_unassigned() -> None:
    assert move(Facts(assignee=""), C.IN_PROGRESS).assign_to_me is True


# --- Code Review: the branch is pushed ahead of main ---------------------------------------


@pytest.mark.parametrize("ahead", [1, 12])
def test_code_review_accepts_a_branch_ahead_of_main(ahead: int) -> None:
    assert_allowed(move(Facts(column=C.IN_PROGRESS, branch_ahead=ahead), C.CODE_REVIEW))


@pytest.mark.parametrize("ahead", [None, 0])
def test_code_review_refuses_without_a_pushed_branch(ahead: int | None) -> None:
    check = move(Facts(column=C.IN_PROGRESS, branch_ahead=ahead), C.CODE_REVIEW)

    assert_guarded(check, "branch", "ahead of main")


# --- QA: approved by someone other than the assignee ---------------------------------------


def test_qa_accepts_a_recorded_approval_by_someone_else() -> None:
    check = move(Facts(column=C.PO_REVIEW, approved_by=REV), C.QA)

    assert_allowed(check)
    assert check.records_approval is False


def test_qa_by_a_reviewer_from_code_review_records_the_approval() -> None:
    check = move(Facts(column=C.CODE_REVIEW, assignee=ANN), C.QA, actor=REV)

    assert_allowed(check)
    assert check.records_approval is True


def test_qa_from_code_review_of_an_unassigned_ticket_is_an_approval() -> None:
    check = move(Facts(column=C.CODE_REVIEW, assignee=None), C.QA, actor=REV)

    assert_allowed(check)
    assert check.records_approval is True


def test_qa_refuses_the_assignee_approving_their_own_review() -> None:
    check = move(Facts(column=C.CODE_REVIEW, assignee=ME), C.QA, actor=ME)

    assert_guarded(check, "you are its assignee", "someone else")


def test_qa_does_not_count_an_approval_by_the_assignee() -> None:
    check = move(Facts(column=C.PO_REVIEW, assignee=ANN, approved_by=ANN), C.QA, actor=REV)

    assert_guarded(check, "no review approval")


@pytest.mark.parametrize("source", [C.TODO, C.IN_PROGRESS, C.NEEDS_WORK, C.PO_REVIEW, None])
def test_qa_from_outside_code_review_needs_a_recorded_approval(source: C | None) -> None:
    check = move(Facts(column=source, assignee=ANN), C.QA, actor=REV)

    assert_guarded(check, "no review approval by someone other than the assignee")


# --- PO Review: the test site passed -------------------------------------------------------


def test_po_review_accepts_a_passed_test_site() -> None:
    assert_allowed(move(Facts(column=C.QA, test_site_passed=True), C.PO_REVIEW))


def test_po_review_refuses_without_a_passed_test_site() -> None:
    check = move(replace(READY, column=C.QA, test_site_passed=False), C.PO_REVIEW)

    assert_guarded(check, "test site", "smoke checks")


# --- Done: the production deploy succeeded -------------------------------------------------


def test_done_accepts_a_successful_production_deploy() -> None:
    assert_allowed(move(Facts(column=C.READY_TO_DEPLOY, prod_deploy_passed=True), C.DONE))


def test_done_refuses_without_a_production_deploy() -> None:
    check = move(replace(READY, column=C.READY_TO_DEPLOY, prod_deploy_passed=False), C.DONE)

    assert_guarded(check, "production deploy")


# --- every column, with every fact ---------------------------------------------------------


@pytest.mark.parametrize("target", list(C))
def test_a_ticket_with_every_fact_may_enter_every_other_column(target: C) -> None:
    source = C.TODO if target is not C.TODO else C.DONE

    assert_allowed(move(replace(READY, column=source), target))


@pytest.mark.parametrize("target", list(C))
def test_a_ticket_of_no_column_may_be_moved_where_its_facts_allow(target: C) -> None:
    assert_allowed(move(replace(READY, column=None), target))


@pytest.mark.parametrize("target", list(C))
def test_a_move_to_the_column_it_is_in_is_refused_without_override(target: C) -> None:
    check = move(replace(READY, column=target), target)

    assert not check.allowed
    assert check.blocked == f"the ticket is already in {target.value}"
    assert check.overridable is False


@pytest.mark.parametrize(
    ("target", "guarded"),
    [
        (C.TODO, False),
        (C.NEEDS_WORK, False),
        (C.IN_PROGRESS, False),
        (C.FEEDBACK, False),
        (C.CODE_REVIEW, True),
        (C.QA, True),
        (C.PO_REVIEW, True),
        (C.READY_TO_DEPLOY, False),
        (C.DONE, True),
    ],
)
def test_only_the_four_guarded_columns_refuse_a_ticket_without_facts(
    target: C, guarded: bool
) -> None:
    check = move(Facts(column=None, assignee=ANN), target, actor=ANN)

    assert check.allowed is not guarded
    assert check.overridable is guarded


# --- neighbour -----------------------------------------------------------------------------


def test_neighbour_steps_along_the_board() -> None:
    assert neighbour(C.TODO, 1) is C.NEEDS_WORK
    assert neighbour(C.CODE_REVIEW, -1) is C.FEEDBACK
    assert neighbour(C.CODE_REVIEW, 2) is C.PO_REVIEW
    assert neighbour(C.QA, 0) is C.QA


def test_neighbour_is_none_past_either_edge() -> None:
    assert neighbour(C.TODO, -1) is None
    assert neighbour(C.DONE, 1) is None
    assert neighbour(C.TODO, 8) is C.DONE
    assert neighbour(C.DONE, -8) is C.TODO
    assert neighbour(C.TODO, 9) is None
    assert neighbour(C.DONE, -9) is None
