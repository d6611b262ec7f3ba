"""The demo sites' sites.toml: each site's table, written as a team would write it.

`site_table` gives one site's table (its environments' databases live on shared servers, one
database each); `toml_document` writes the tables as TOML (strings, numbers, booleans,
lists and inline tables: what sites.toml uses). Imports nothing of Triage's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from triage.sandbox.demo_code import CODE, GIT_MOUNT, SiteSpec
from triage.sandbox.images import MARIADB_IMAGE, PHP_SITE_IMAGE

ENVS = ("prod", "dev", "test")
CONTACT_SQL = (
    "UPDATE contact_message SET mail = CONCAT('contact+', id, '@localhost.localdomain'),"
    " message = 'sanitized', ip_address = '127.0.0.1'"
)
WEBFORM_SQL = (
    "UPDATE webform_submission_data SET value = IF(name = 'email',"
    " CONCAT('webform+', sid, '@localhost.localdomain'), 'sanitized')"
    " WHERE name IN ('email', 'message')"
)
PUBLISHED_ADDRESSES = ["sales@acme.example", "jane.miller@acme.example"]
"""Addresses the sandbox site's published content shows: a clone may keep them."""


def site_table(
    site_id: str, spec: SiteSpec, remote: Path, checkout: Path, prefix: str,
    servers: Mapping[str, str],
) -> dict[str, Any]:  # fmt: skip
    """One demo site's table of sites.toml; `servers`: the db container of each env."""
    key = site_id.removeprefix("demo-").replace("-", "_")

    def env(name: str) -> dict[str, Any]:
        return {
            "web_container": f"{prefix}-{site_id}-{name}-web",
            "db_container": servers[name],
            "db_name": f"{key}_{name}",
            "code_path": CODE,
            "files_path": f"{CODE}/files",
            "web_image": PHP_SITE_IMAGE,
            "db_image": MARIADB_IMAGE,
            "network": prefix,
            "volumes": {f"{prefix}-{site_id}-git": GIT_MOUNT},
            "smoke": [
                {"path": "/", "contains": "Acme Corporation"},
                {"path": "/health", "contains": "OK"},
            ],
        }

    return {
        "name": spec.name,
        "client": f"{spec.name} Ltd",
        "package": spec.package,
        "repo": str(remote),
        "checkout": str(checkout),
        "tests": list(spec.tests),
        "deploy": ["composer install --no-interaction --no-progress", "drush deploy"],
        "restore": ["composer install --no-interaction --no-progress"],
        "post_clone": ["drush deploy"],
        "maintenance_on": ["drush sset system.maintenance_mode 1"],
        "maintenance_off": ["drush sset system.maintenance_mode 0"],
        "sanitize_sql": [CONTACT_SQL, WEBFORM_SQL],
        "allowed_emails": PUBLISHED_ADDRESSES,
        "envs": {name: env(name) for name in ENVS},
    }


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")


def toml_document(sites: Mapping[str, Mapping[str, Any]]) -> str:
    """sites.toml for these sites: `[sites.ID]` and `[sites.ID.envs.NAME]` tables."""
    lines = ["# The demo's sites (triage demo --sites): made, and removed, by the demo.", ""]
    for site_id, table in sites.items():
        lines.append(f"[sites.{json.dumps(site_id)}]")
        envs = table.get("envs", {})
        lines += [f"{key} = {_value(value)}" for key, value in table.items() if key != "envs"]
        lines.append("")
        for name, env in envs.items():
            lines.append(f"[sites.{json.dumps(site_id)}.envs.{json.dumps(name)}]")
            lines += [f"{key} = {_value(value)}" for key, value in env.items()]
            lines.append("")
    return "\n".join(lines)
