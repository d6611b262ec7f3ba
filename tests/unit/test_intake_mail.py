"""Reading support mail: the real-world fixtures parsed, replies stripped, mails routed."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.core.config import IntakeClient, load_settings
from triage.core.intake.html_text import html_to_text
from triage.core.intake.mail import Unparseable, clean, message_id_of, parse
from triage.core.intake.reply import strip_quoted
from triage.core.intake.route import client_of, route, subject_key, ticket_fields

MAIL = Path(__file__).resolve().parents[1] / "fixtures" / "mail"


def fixture(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def test_new_request_is_read_with_priority_and_lower_case_sender() -> None:
    mail = parse(fixture("01_new_request.eml"))
    assert mail.message_id == "<CAKq1-req1@mail.acme.example>"
    assert mail.subject == "Contact form on www.acme.example sends nothing"
    assert mail.sender == "jan.kowalski@acme.example"
    assert mail.sender_name == "Jan Kowalski"
    assert mail.priority == "High"
    assert mail.auto is None
    assert "main lead channel" in mail.text


def test_polish_encoded_word_subject_and_base64_body_are_decoded() -> None:
    mail = parse(fixture("08_polish_subject.eml"))
    assert mail.subject == "Błąd na stronie głównej – pilne!"
    assert mail.sender_name == "Łukasz Wójcik"
    assert mail.text.startswith("Strona główna pokazuje biały ekran")


def test_outlook_html_only_mail_becomes_text_without_styles() -> None:
    mail = parse(fixture("07_outlook_html.eml"))
    assert mail.priority == "Highest"
    assert "newsletter sign-up returns an error 500" in mail.text
    assert "Dzień dobry," in mail.text
    assert "- Page: /newsletter" in mail.text
    for noise in ("MsoNormal", "<", "shapedefaults", "&nbsp;"):
        assert noise not in mail.text


def test_inline_image_and_attachments_are_all_kept() -> None:
    mail = parse(fixture("10_inline_and_attachments.eml"))
    found = {(a.filename, a.content_type) for a in mail.attachments}
    assert found == {
        ("cennik-2027.pdf", "application/pdf"),
        ("prices.csv", "text/csv"),
        ("attachment-3.png", "image/png"),
    }
    pdf = next(a for a in mail.attachments if a.filename == "cennik-2027.pdf")
    assert pdf.data.startswith(b"%PDF-1.4")
    assert "banner" in mail.text


def test_auto_reply_and_bulk_mail_are_recognised() -> None:
    assert parse(fixture("05_auto_reply.eml")).auto == "Auto-Submitted: auto-replied"
    assert parse(fixture("06_bulk.eml")).auto == "Precedence: bulk"
    assert parse(fixture("01_new_request.eml")).auto is None


def test_control_characters_from_a_mail_are_stripped() -> None:
    mail = parse(fixture("11_unknown_sender.eml"))
    assert "\x1b" not in mail.text and "\x07" not in mail.text
    assert "a quote for a new website." in mail.text
    assert clean("a\x00b\u202ec\r\nd\te") == "abc\nd\te"


def test_a_mail_without_headers_is_unparseable_but_has_a_stable_id() -> None:
    raw = fixture("12_unparseable.eml")
    with pytest.raises(Unparseable, match="no headers"):
        parse(raw)
    assert message_id_of(raw) == message_id_of(raw)
    assert message_id_of(raw).endswith("@triage.invalid>")


def test_english_quoted_reply_is_stripped() -> None:
    text = parse(fixture("02_reply_subject_key.eml")).text
    kept = strip_quoted(text)
    assert kept == "Thanks, the new image is sharp on desktop now. On mobile it is still cut."


def test_polish_gmail_quoted_reply_is_stripped() -> None:
    kept = strip_quoted(parse(fixture("03_reply_in_reply_to.eml")).text)
    assert "formularz dalej nie działa" in kept
    assert "napisał" not in kept and "since this morning" not in kept


def test_polish_thunderbird_header_is_stripped() -> None:
    text = "Dziękuję, działa.\n\nDnia 30.11.2026 o 10:00, Support napisał(a):\n> stara treść\n"
    assert strip_quoted(text) == "Dziękuję, działa."


def test_the_leftmost_key_of_a_known_project_wins() -> None:
    known = {"SUP", "OPS"}
    assert subject_key("Re: [SUP-123] see OPS-7", known) == "SUP-123"
    assert subject_key("Re: ISO-9001 and [ops-7] and SUP-1", known) == "OPS-7"
    assert subject_key("Re: nothing here", known) is None


def test_routing_skips_auto_replies_even_with_a_key() -> None:
    mail = parse(fixture("05_auto_reply.eml"))
    assert route(mail, {"SUP"}, None).kind == "skip"
    reply = parse(fixture("03_reply_in_reply_to.eml"))
    assert route(reply, {"SUP"}, "SUP-42").key == "SUP-42"
    assert route(reply, {"SUP"}, None).kind == "ticket"


def test_sender_domain_maps_to_client_subdomains_included() -> None:
    domains = {"acme.example": IntakeClient(client="Acme", sites=["acme-www"])}
    assert client_of("mail.acme.example", domains) == domains["acme.example"]
    assert client_of("ACME.example", domains) == domains["acme.example"]
    assert client_of("notacme.example", domains) is None


def test_new_ticket_fields_cut_the_summary_and_flag_unknown_senders(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path / "absent.toml",
        jira={"projects": ["SUP"]},
        intake={"domains": {"acme.example": {"client": "Acme", "sites": ["acme-www"]}}},
    )
    long = ticket_fields(parse(fixture("09_long_subject.eml")), settings)
    assert len(long["summary"]) == 255
    assert (long["project"], long["client"], long["site"]) == ("SUP", "Acme", "acme-www")
    unknown = ticket_fields(parse(fixture("11_unknown_sender.eml")), settings)
    assert unknown["client"] is None
    assert "triage-email-unknown-sender" in unknown["labels"]
    assert "Unknown sender domain 'unknown-corp.example'" in unknown["description"]


def test_html_to_text_keeps_blocks_on_lines() -> None:
    html = "<div>One<br>Two</div><script>x()</script><table><tr><td>a</td><td>b</td></tr></table>"
    assert html_to_text(html) == "One\nTwo\n\na b"
