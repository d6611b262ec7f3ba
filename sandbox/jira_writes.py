"""What a client may send to create, edit, transition, comment on and assign issues.

Each function checks a request body the way Jira does and then changes the state, or raises
``ApiError(400)`` with Jira's ``errors`` (field -> message) and changes nothing. ``adf`` says
whether bodies must be Atlassian documents (Cloud REST v3) or plain strings (REST v2).
"""

from __future__ import annotations

import copy
from typing import Any

from triage.sandbox.jira_render import Json, is_adf, text_to_adf
from triage.sandbox.jira_state import PRIORITIES, RESOLUTIONS, ApiError, JiraState, pick

NOT_SETTABLE = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
NO_SUMMARY = "You must specify a summary of the issue."
READ_ONLY = ("status", "project", "created", "updated", "comment", "resolutiondate")


def field_value(state: JiraState, fid: str, value: Any, adf: bool) -> Any:
    """A field value a client sent, as stored."""
    if fid == "summary":
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, errors={fid: NO_SUMMARY})
        return value
    if fid in ("description", "environment"):
        if value is None:
            return None
        if adf and not is_adf(value):
            raise ApiError(400, errors={fid: NOT_ADF})
        if not adf and not isinstance(value, str):
            raise ApiError(400, errors={fid: "Operation value must be a string"})
        return copy.deepcopy(value) if adf else text_to_adf(value)
    if fid in ("assignee", "reporter"):
        return user_value(state, fid, value)
    if fid in ("priority", "issuetype", "resolution"):
        catalog = {"priority": PRIORITIES, "issuetype": state.issue_types}.get(fid)
        found = pick(catalog or RESOLUTIONS, value)
        if found is None and not (fid == "resolution" and value is None):
            message = f"Could not find valid 'id' or 'name' in {fid} object."
            raise ApiError(400, errors={fid: message})
        return found
    if fid == "labels":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ApiError(400, errors={fid: NOT_SETTABLE.format(fid)})
        for label in value:
            if " " in label:
                message = f"The label '{label}' contains spaces which is invalid."
                raise ApiError(400, errors={fid: message})
        return list(value)
    if fid == "duedate" or any(f.get("id") == fid and f.get("custom") for f in state.fields):
        return copy.deepcopy(value)
    raise ApiError(400, errors={fid: NOT_SETTABLE.format(fid)})


def user_value(state: JiraState, fid: str, value: Any) -> Json | None:
    """``{"accountId"}`` on Cloud or ``{"name"}`` on Data Center; null or "-1" unassigns."""
    if value is None:
        return None
    id_key = "accountId" if state.flavour == "cloud" else "name"
    if not isinstance(value, dict) or id_key not in value:
        raise ApiError(400, errors={fid: f"Specify a valid '{id_key}' for the {fid}."})
    ident = value[id_key]
    if ident is None or ident == "-1":
        return None
    if state.flavour == "cloud":
        acc = state.people.get(str(ident))
    else:
        acc = next((p for p in state.people.values() if p.username == ident), None)
    if acc is None:
        raise ApiError(400, errors={fid: f"User '{ident}' does not exist."})
    return state.user_ref(acc)


def comment_body(body: Any, adf: bool) -> Json:
    """A comment body a client sent, as stored (ADF)."""
    if adf and not is_adf(body):
        raise ApiError(400, errors={"comment": "Comment body is not valid!"})
    if not adf and (not isinstance(body, str) or not body.strip()):
        raise ApiError(400, errors={"comment": "Comment body can not be empty!"})
    return without_blank_paragraphs(body) if adf else text_to_adf(body)


def without_blank_paragraphs(doc: Json) -> Json:
    """A copy of an ADF document without empty paragraphs, as Jira Cloud stores it."""
    stored = copy.deepcopy(doc)
    stored["content"] = [
        node
        for node in stored.get("content") or []
        if node.get("type") != "paragraph"
        or any(
            child.get("type") != "text" or str(child.get("text", "")).strip()
            for child in node.get("content") or []
        )
    ]
    return stored


def create(state: JiraState, body: Json, adf: bool) -> Json:
    """A new issue from a create request's ``fields``."""
    given = dict(body.get("fields") or {})
    errors: dict[str, str] = {}
    ref = given.pop("project", None)
    project = None
    if isinstance(ref, dict):
        wanted = (str(ref.get("key", "")).upper(), str(ref.get("id", "")))
        project = next(
            (
                p
                for p in state.projects.values()
                if p["key"].upper() == wanted[0] or p["id"] == wanted[1]
            ),
            None,
        )
    if project is None:
        errors["project"] = "valid project is required"
    if pick(state.issue_types, given.get("issuetype")) is None:
        errors["issuetype"] = "Specify an issue type"
        given.pop("issuetype", None)
    if "summary" not in given:
        errors["summary"] = NO_SUMMARY
    values: Json = {}
    for fid, value in given.items():
        try:
            values[fid] = field_value(state, fid, value, adf)
        except ApiError as exc:
            errors.update(exc.errors)
    if errors or project is None:
        raise ApiError(400, errors=errors)
    return state.new_issue(project, values)


def edit(state: JiraState, issue: Json, body: Json, adf: bool) -> None:
    """Apply an edit request: ``fields`` sets values; ``update`` edits labels or adds comments."""
    changes: Json = {}
    errors: dict[str, str] = {}
    comments: list[Json] = []

    def attempt(fid: str, value: Any) -> None:
        try:
            if fid in READ_ONLY:
                raise ApiError(400, errors={fid: NOT_SETTABLE.format(fid)})
            changes[fid] = field_value(state, fid, value, adf)
        except ApiError as exc:
            errors.update(exc.errors)

    for fid, value in (body.get("fields") or {}).items():
        attempt(fid, value)
    for fid, ops in (body.get("update") or {}).items():
        for op in ops if isinstance(ops, list) else []:
            for verb, value in op.items():
                if fid == "labels" and verb in ("add", "remove"):
                    labels = list(changes.get("labels", issue["fields"].get("labels") or []))
                    if verb == "add" and value not in labels:
                        labels.append(value)
                    elif verb == "remove" and value in labels:
                        labels.remove(value)
                    changes["labels"] = labels
                elif fid == "comment" and verb == "add":
                    try:
                        comments.append(comment_body((value or {}).get("body"), adf))
                    except ApiError as exc:
                        errors.update(exc.errors)
                elif verb == "set":
                    attempt(fid, value)
                else:
                    errors[fid] = NOT_SETTABLE.format(fid)
    if errors:
        raise ApiError(400, errors=errors)
    state.record(issue, changes)
    for stored in comments:
        state.add_comment(issue, stored)


def transition(state: JiraState, issue: Json, body: Json, adf: bool) -> None:
    """Move an issue; the move to Done needs a resolution, a move out of Done clears it."""
    wanted = str((body.get("transition") or {}).get("id", ""))
    target = next((s for tid, s in state.transitions(issue) if tid == wanted), None)
    if target is None:
        raise ApiError(400, [f"Transition id '{wanted}' is not valid for this issue."])
    done = state.is_done(target)
    fields = dict(body.get("fields") or {})
    errors = {f: NOT_SETTABLE.format(f) for f in fields if not (done and f == "resolution")}
    resolution = None
    if done and fields.get("resolution") is None:
        errors["resolution"] = "Resolution is required."
    elif done:
        resolution = pick(RESOLUTIONS, fields["resolution"])
        if resolution is None:
            errors["resolution"] = "Could not find valid 'id' or 'name' in resolution object."
    comments: list[Json] = []
    for fid, ops in (body.get("update") or {}).items():
        if fid != "comment" or not isinstance(ops, list):
            errors[fid] = NOT_SETTABLE.format(fid)
            continue
        for op in ops:
            try:
                comments.append(comment_body((op.get("add") or {}).get("body"), adf))
            except ApiError as exc:
                errors.update(exc.errors)
    if errors:
        raise ApiError(400, errors=errors)
    state.move(issue, target, resolution)
    for stored in comments:
        state.add_comment(issue, stored)
