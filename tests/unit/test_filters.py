"""The board's filter language on board cards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from triage.core.board.filters import KEYS, CardFilter, parse_filter
from triage.storage.columns import BoardColumn
from triage.storage.queries import CardRow

ME = "Mia Me"


def card(key: str, **fields: Any) -> CardRow:
    values: dict[str, Any] = {
        "key": key,
        "summary": "",
        "issue_type": "Task",
        "severity": "Medium",
        "severity_rank": 3,
        "assignee": None,
        "site": None,
        "client": None,
        "column": BoardColumn.TODO,
        "jira_status": "To Do",
        "updated": datetime(2026, 11, 20, tzinfo=UTC),
    }
    values.update(fields)
    return CardRow(**values)


CARDS = [
    card(
        "SUP-1",
        summary="Checkout page returns 500",
        issue_type="Bug",
        severity="Highest",
        assignee=ME,
        site="acme-shop",
        client="Acme Corp",
    ),
    card(
        "SUP-2",
        summary="Update Drupal core to 10.3",
        issue_type="Security",
        assignee="Ann Other",
        site="bluebird-www",
        client="Bluebird Foods",
    ),
    card(
        "SUP-3",
        summary="New landing page for the spring campaign",
        issue_type="Task",
        assignee=None,
        site="acme-www",
        client="Acme Corp",
    ),
    card(
        "OPS-14",
        summary="Renew TLS certificate, see http://status.example/tls",
        issue_type="Incident",
        severity="Low",
        assignee="mia me",
        site="corp-intranet",
        client="Acme Corporation Holdings",
    ),
]


def keys(text: str, me: str | None = ME) -> list[str]:
    return [c.key for c in parse_filter(text).apply(CARDS, me)]


# --- parsing -------------------------------------------------------------------------------


def test_parse_splits_words_me_and_prefixed_fields() -> None:
    parsed = parse_filter('checkout @me site:acme-shop client:"Acme Corp" TYPE:bug')

    assert parsed == CardFilter(
        words=("checkout",),
        mine=True,
        fields=(("site", "acme-shop"), ("client", "Acme Corp"), ("type", "bug")),
    )


def test_parse_of_nothing_is_the_empty_filter() -> None:
    assert parse_filter("").empty
    assert parse_filter("   ").empty
    assert not parse_filter("x").empty


def test_an_unknown_prefix_is_a_plain_word_and_named_as_unknown() -> None:
    assert parse_filter("colour:red") == CardFilter(words=("colour:red",), unknown=("colour",))


def test_an_unknown_key_is_told_in_one_sentence_naming_the_known_keys() -> None:
    problem = parse_filter("colour:red sitee:acme @me").problem
    assert problem is not None
    assert problem.count(".") <= 1 and problem.endswith(".")
    assert "colour" in problem and "sitee" in problem
    for name in KEYS:
        assert f"{name}:" in problem
    assert parse_filter("site:acme -type:bug @me http://status.example/tls").problem is None


def test_the_known_keys_are_one_table() -> None:
    assert set(KEYS) >= {"site", "client", "type", "key", "assignee", "severity"}


def test_a_prefix_without_a_value_is_a_plain_word() -> None:
    assert parse_filter("site:") == CardFilter(words=("site:",))


def test_an_unclosed_quote_reads_to_the_end_of_the_text() -> None:
    assert parse_filter('client:"Acme Corp') == parse_filter('client:"Acme Corp"')


# --- matching --------------------------------------------------------------------------------


def test_the_empty_filter_passes_every_card() -> None:
    assert keys("") == ["SUP-1", "SUP-2", "SUP-3", "OPS-14"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("checkout", ["SUP-1"]),  # summary
        ("sup-2", ["SUP-2"]),  # key
        ("bluebird-www", ["SUP-2"]),  # site
        ("foods", ["SUP-2"]),  # client
        ("ann", ["SUP-2"]),  # assignee
        ("incident", ["OPS-14"]),  # issue type
        ("page", ["SUP-1", "SUP-3"]),
        ("acme", ["SUP-1", "SUP-3", "OPS-14"]),
        ("nothing-like-this", []),
    ],
)
def test_free_text_searches_key_summary_site_client_and_assignee(
    text: str, expected: list[str]
) -> None:
    assert keys(text) == expected


def test_every_word_must_match_somewhere() -> None:
    assert keys("acme page") == ["SUP-1", "SUP-3"]
    assert keys("acme landing") == ["SUP-3"]
    assert keys("acme drupal") == []


def test_matching_ignores_case() -> None:
    assert keys("CHECKOUT") == ["SUP-1"]
    assert keys("SITE:ACME-SHOP") == ["SUP-1"]
    assert keys("Client:acme corp") == ["SUP-1", "SUP-3", "OPS-14"]  # "corp" is a second word
    assert keys('CLIENT:"acme CORP"') == ["SUP-1", "SUP-3", "OPS-14"]


def test_at_me_matches_my_tickets_whatever_the_case() -> None:
    assert keys("@me") == ["SUP-1", "OPS-14"]
    assert keys("@ME") == ["SUP-1", "OPS-14"]
    assert keys("@me", me="Ann Other") == ["SUP-2"]


def test_site_matches_part_of_the_site_id() -> None:
    assert keys("site:acme") == ["SUP-1", "SUP-3"]
    assert keys("site:acme-www") == ["SUP-3"]


def test_client_with_quotes_matches_a_name_with_spaces() -> None:
    assert keys('client:"Acme Corp"') == ["SUP-1", "SUP-3", "OPS-14"]
    assert keys("client:'Acme Corporation'") == ["OPS-14"]
    assert keys('client:"Bluebird Foods"') == ["SUP-2"]


def test_type_matches_the_issue_type() -> None:
    assert keys("type:bug") == ["SUP-1"]
    assert keys("type:security") == ["SUP-2"]


def test_other_prefixes_match_their_field() -> None:
    assert keys("key:ops") == ["OPS-14"]
    assert keys("assignee:ann") == ["SUP-2"]
    assert keys("severity:highest") == ["SUP-1"]


def test_a_card_without_the_field_does_not_match_it() -> None:
    assert keys("client:acme site:acme") == ["SUP-1", "SUP-3"]
    assert "SUP-3" not in keys("assignee:a")


def test_combinations_must_all_hold() -> None:
    assert keys('@me client:"acme corp"') == ["SUP-1", "OPS-14"]
    assert keys("@me type:incident") == ["OPS-14"]
    assert keys('@me site:acme client:"Acme Corp" page') == ["SUP-1"]
    assert keys("@me type:security") == []


def test_an_unknown_prefix_is_searched_as_text() -> None:
    assert keys("http://status.example/tls") == ["OPS-14"]
    assert keys("colour:red") == []


def test_predicate_tests_one_card() -> None:
    test = parse_filter("type:bug").predicate(ME)

    assert test(CARDS[0]) is True
    assert test(CARDS[1]) is False


def test_at_me_without_knowing_who_i_am_matches_nothing() -> None:
    assert keys("@me", me=None) == []


# --- none and negation ------------------------------------------------------------------------


def test_assignee_none_matches_unassigned_cards() -> None:
    assert keys("assignee:none") == ["SUP-3"]
    assert keys("ASSIGNEE:None") == ["SUP-3"]
    assert keys("-assignee:none") == ["SUP-1", "SUP-2", "OPS-14"]


def test_a_minus_excludes_a_key_value() -> None:
    assert keys("-site:acme") == ["SUP-2", "OPS-14"]
    assert keys("-type:bug -type:security") == ["SUP-3", "OPS-14"]
    assert keys("site:acme -type:bug") == ["SUP-3"]


def test_a_minus_excludes_a_word() -> None:
    assert keys("-acme") == ["SUP-2"]
    assert keys("page -checkout") == ["SUP-3"]
    assert keys('-"landing page"') == ["SUP-1", "SUP-2", "OPS-14"]


def test_a_minus_excludes_my_cards() -> None:
    assert keys("-@me") == ["SUP-2", "SUP-3"]


def test_a_lone_minus_is_a_word() -> None:
    assert parse_filter("-") == CardFilter(words=("-",))
