"""Attachments in the sandbox Jira: `POST issue/{key}/attachments`, multipart, as Jira takes it.

Jira wants `multipart/form-data` with one or more `file` parts and the header
`X-Atlassian-Token: no-check` (otherwise 403, "XSRF check failed"). Each file lands in the
issue's `attachment` field; the bytes are kept beside the state for tests to compare.
"""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from triage.sandbox.jira_render import Json
from triage.sandbox.jira_state import ApiError, JiraState, stamp, utc_now

XSRF_FAILED = "XSRF check failed"


def parse_files(content_type: str, raw: bytes) -> list[tuple[str, str, bytes]]:
    """The `file` parts of a multipart body: (filename, content type, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise ApiError(400, ["The request is not a multipart request."])
    files: list[tuple[str, str, bytes]] = []
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") != "file":
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        files.append((part.get_filename() or "file", part.get_content_type(), data))
    if not files:
        raise ApiError(400, ["No file was sent: use a multipart part named 'file'."])
    return files


def stored_bytes(state: JiraState) -> dict[str, bytes]:
    """Attachment id -> bytes, for every attachment of the state."""
    found: dict[str, bytes] = state.__dict__.setdefault("attachment_bytes", {})
    return found


def add(state: JiraState, issue: Json, files: list[tuple[str, str, bytes]], api: str) -> list[Json]:
    """Attach the files to the issue; the attachment objects as Jira returns them."""
    store = stored_bytes(state)
    attachments: list[Any] = issue["fields"].setdefault("attachment", [])
    me = state.user_ref(state.me)
    added: list[Json] = []
    for filename, kind, data in files:
        ident = str(10000 + len(store))
        item: Json = {
            "self": f"{api}/attachment/{ident}",
            "id": ident,
            "filename": filename,
            "author": me,
            "created": stamp(utc_now()),
            "size": len(data),
            "mimeType": kind,
            "content": f"{api}/attachment/content/{ident}",
        }
        store[ident] = data
        attachments.append(item)
        added.append(item)
    return added
