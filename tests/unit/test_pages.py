"""Search answers are checked, and pages fetched side by side stay in order and bounded."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from triage.core.tracker.pages import BadSearchAnswer, in_window, issues_of, total_of

URL = "https://jira.example"


@pytest.mark.parametrize("answer", [{}, {"issues": None}, {"issues": "x"}, [], "<html>", None])
def test_an_answer_without_an_issue_list_is_an_error_not_an_empty_page(answer: Any) -> None:
    with pytest.raises(BadSearchAnswer, match="not a page of issues") as raised:
        issues_of(answer, URL, "search")
    assert URL in str(raised.value)


def test_a_page_of_issues_and_its_total_are_read() -> None:
    page = {"issues": [{"key": "SUP-1"}], "total": 7}
    assert issues_of(page, URL, "search") == [{"key": "SUP-1"}]
    assert total_of(page, URL) == 7
    with pytest.raises(BadSearchAnswer, match="without its total"):
        total_of({"issues": []}, URL)


def test_pages_come_in_order_with_a_bounded_number_in_flight() -> None:
    lock = threading.Lock()
    running, most = 0, 0

    def fetch(number: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        threading.Event().wait(0.01)
        with lock:
            running -= 1
        return number * 10

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(in_window(pool, fetch, range(40), window=3))

    assert results == [n * 10 for n in range(40)]
    assert 1 <= most <= 3
