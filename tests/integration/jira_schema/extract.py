"""Cut the part of Atlassian's Jira Cloud v3 OpenAPI document that the contract tests read.

The repository keeps that part (jira-cloud-v3-subset.json beside this script) so that it is
self-contained. Run again when the sandbox answers a new endpoint:

    python tests/integration/jira_schema/extract.py PATH/TO/jira-cloud-platform-v3.openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "jira-cloud-v3-subset.json"
V3 = "/rest/api/3"
#: The endpoints the sandbox serves (sandbox/jira_routes.py), as the document names them.
PATHS = [
    "/serverInfo", "/myself", "/field", "/status", "/project", "/project/{projectIdOrKey}",
    "/user/search", "/search", "/search/jql", "/issue/bulkfetch", "/issue",
    "/issue/{issueIdOrKey}", "/issue/{issueIdOrKey}/transitions",
    "/issue/{issueIdOrKey}/comment", "/issue/{issueIdOrKey}/assignee",
    "/issue/{issueIdOrKey}/attachments", "/issue/{issueIdOrKey}/properties/{propertyKey}",
]  # fmt: skip
#: Schemas the tests name directly (issue fields, errors).
SCHEMAS = [
    "StatusDetails", "UserDetails", "PageOfComments", "IssueTypeDetails", "ProjectDetails",
    "Priority", "Resolution", "ErrorCollection",
]  # fmt: skip


def refs(node: Any) -> set[str]:
    """The component schema names a node refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def subset(document: dict[str, Any]) -> dict[str, Any]:
    paths = {V3 + p: document["paths"][V3 + p] for p in PATHS if V3 + p in document["paths"]}
    schemas = document["components"]["schemas"]
    wanted, todo = set(), refs(paths) | set(SCHEMAS)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo |= refs(schemas[name]) - wanted
    return {
        "openapi": document["openapi"],
        "info": document["info"],
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(wanted)}},
    }


if __name__ == "__main__":
    source = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    OUT.write_text(json.dumps(subset(source), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")
