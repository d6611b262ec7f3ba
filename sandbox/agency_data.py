"""Data for the demo agency (clients, sites, people, ticket texts) and the helpers that draw it."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any, TypeVar

T = TypeVar("T")

PROJECT_KEY = "SUP"
PROJECT = {"id": "10000", "key": PROJECT_KEY, "name": "Support"}
BASE_URL = "https://agency.atlassian.net"
EMAIL_DOMAIN = "agency.example"

# (name, status category id, key, category name); ids are "10000".."10008" in this order.
STATUS_NAMES = (
    "To Do",
    "Needs Work",
    "In Progress",
    "Feedback/Impediment",
    "Code Review",
    "QA",
    "PO Review",
    "Ready To Deploy",
    "Done",
)
# Share of tickets per status, in percent, in STATUS_NAMES order.
STATUS_WEIGHTS = (15, 6, 12, 8, 7, 6, 5, 6, 35)
CATEGORY_NEW = {"id": 2, "key": "new", "name": "To Do"}
CATEGORY_DONE = {"id": 3, "key": "done", "name": "Done"}
CATEGORY_ACTIVE = {"id": 4, "key": "indeterminate", "name": "In Progress"}

ISSUE_TYPES = {
    "Bug": "10002",
    "Task": "10003",
    "Story": "10004",
    "Incident": "10005",
    "Security Update": "10006",
}
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")  # Jira ids "1".."5"
URGENCIES = ("Critical", "High", "Medium", "Low")  # option ids "10300".."10303"
RESOLUTION_DONE = {"id": "10000", "name": "Done"}

# package: (response hours, resolution hours, ticket weight of its sites)
PACKAGES = {"Gold": (1, 8, 3), "Silver": (4, 24, 2), "Bronze": (8, 72, 1)}

# (key, company name, package, number of sites); the site counts add up to 120.
CLIENTS = (
    ("northwind", "Northwind Traders", "Gold", 16),
    ("harbor", "Harbor Dental Group", "Silver", 8),
    ("bluebell", "Bluebell Foods", "Gold", 12),
    ("kestrel", "Kestrel Insurance", "Gold", 11),
    ("meridian", "Meridian University Press", "Silver", 10),
    ("alderfinch", "Alder & Finch Law", "Bronze", 4),
    ("coastline", "Coastline Tourism Board", "Silver", 10),
    ("greenfield", "Greenfield Energy", "Gold", 9),
    ("riverside", "Riverside City Council", "Silver", 12),
    ("orbit", "Orbit Outdoor Gear", "Bronze", 7),
    ("pinecrest", "Pinecrest Hospital", "Silver", 8),
    ("lumen", "Lumen Museum of Art", "Bronze", 6),
    ("hansen", "Hansen Logistics", "Bronze", 4),
    ("velvet", "Velvet Hotels", "Bronze", 3),
)

# (site id suffix, name suffix); a client's sites take the first N kinds.
SITE_KINDS = (
    ("www", "Website"),
    ("shop", "Shop"),
    ("intranet", "Intranet"),
    ("blog", "Blog"),
    ("careers", "Careers"),
    ("events", "Events"),
    ("docs", "Documentation"),
    ("portal", "Customer Portal"),
    ("members", "Members Area"),
    ("press", "Press Room"),
    ("support", "Help Centre"),
    ("de", "German Site"),
    ("fr", "French Site"),
    ("es", "Spanish Site"),
    ("nl", "Dutch Site"),
    ("campaign", "Campaign Microsite"),
    ("foundation", "Foundation"),
    ("learn", "E-Learning"),
    ("archive", "Archive"),
    ("partners", "Partner Extranet"),
)
# (version, php versions it may run on, weight)
DRUPAL_VERSIONS = (
    ("11.2.8", ("8.3",), 14),
    ("11.1.9", ("8.3",), 10),
    ("11.3.1", ("8.3",), 6),
    ("10.5.6", ("8.1", "8.2", "8.3"), 14),
    ("10.4.9", ("8.1", "8.2", "8.3"), 10),
    ("10.6.2", ("8.2", "8.3"), 8),
    ("10.3.14", ("8.1", "8.2"), 4),
    ("9.5.11", ("8.1",), 3),
    ("7.103", ("8.1",), 2),
)

# (username, display name, time zone, role); role is dev, senior or po.
PEOPLE = (
    ("sofia", "Sofia Brandt", "Europe/Berlin", "po"),
    ("marek", "Marek Nowak", "Europe/Warsaw", "senior"),
    ("priya", "Priya Raman", "Asia/Kolkata", "senior"),
    ("tom", "Tom Whitaker", "Europe/London", "senior"),
    ("ana", "Ana Lima", "Europe/Lisbon", "dev"),
    ("jonas", "Jonas Berg", "Europe/Stockholm", "dev"),
    ("lucia", "Lucia Ortega", "Europe/Madrid", "dev"),
    ("daniel", "Daniel Okafor", "Africa/Lagos", "dev"),
    ("ethan", "Ethan Clarke", "America/Toronto", "dev"),
    ("kasia", "Kasia Wojcik", "Europe/Warsaw", "dev"),
)


def account_id(username: str) -> str:
    """Return a stable Cloud-style accountId (24 hex characters) for a username."""
    return "5" + hashlib.sha1(username.encode()).hexdigest()[:23]


CONTACTS = (
    "Laura",
    "Peter",
    "Hannah",
    "Mark",
    "Julia",
    "Oliver",
    "Emma",
    "Felix",
    "Nora",
    "Sam",
    "Clara",
    "David",
)
MODULES = (
    "webform",
    "paragraphs",
    "metatag",
    "pathauto",
    "views_bulk_operations",
    "token",
    "ctools",
    "admin_toolbar",
    "simple_sitemap",
    "redirect",
    "search_api",
    "smtp",
    "captcha",
    "linkit",
    "field_group",
    "entity_browser",
    "google_tag",
    "gin",
)
CAMPAIGNS = (
    "Spring Sale",
    "Open Day",
    "Summer Tour",
    "Black Friday",
    "Annual Report",
    "Green Week",
    "Winter Gala",
    "New Members",
    "Product Launch",
    "Careers Fair",
)
LANGUAGES = ("German", "French", "Spanish", "Dutch", "Italian", "Polish")
PATHS = (
    "/news",
    "/products",
    "/contact",
    "/about-us",
    "/events",
    "/search",
    "/blog",
    "/jobs",
    "/de/kontakt",
    "/fr/actualites",
)
BROWSERS = ("Safari 18", "Firefox", "Edge", "Chrome on Android", "iOS Safari")
FEATURES = (
    "an event calendar",
    "an FAQ section",
    "a team page",
    "a job listings filter",
    "a download centre",
    "a store locator map",
    "an accessibility statement page",
)
ERRORS = (
    ("503", "Service Unavailable"),
    ("502", "Bad Gateway"),
    ("500", "Internal Server Error"),
    ("504", "Gateway Timeout"),
)
CAUSES = (
    "a missing permission for the editor role",
    "an outdated composer.lock",
    "a full /tmp partition on the web server",
    "expired SMTP credentials",
    "a stale Varnish cache",
    "a PHP 8.3 deprecation in a custom module",
    "a misconfigured Solr core",
    "a database deadlock in the queue worker",
)
WAITS = (
    "send the new SSL certificate",
    "confirm the final texts",
    "give us access to the DNS zone",
    "approve the quote",
    "restore the database server at the hosting provider",
    "send the missing translations",
    "test the change on their side",
)

# (weight, issue type, label, priority weights Highest..Lowest, summaries, leads)
TEMPLATES: tuple[tuple[int, str, str, tuple[int, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        9,
        "Security Update",
        "security",
        (2, 5, 3, 0, 0),
        (
            "Security update: Drupal core {core_to} on {site}",
            "Apply Drupal core security release {core_to} ({sa_core}) to {site}",
        ),
        (
            "Drupal core {core_to} fixes {sa_core}. {site} runs {drupal}; update core, run the "
            "database updates and check login, forms and the front page.",
        ),
    ),
    (
        11,
        "Security Update",
        "security",
        (1, 5, 4, 1, 0),
        (
            "Security update: {module} {mod_ver} ({sa}) on {site}",
            "Update {module} to {mod_ver} on {site} ({sa})",
        ),
        (
            "{sa} affects the {module} module used on {domain}. Update to {mod_ver} and check "
            "the pages that use it.",
        ),
    ),
    (
        6,
        "Bug",
        "forms",
        (1, 4, 5, 2, 0),
        (
            "Contact form on {site} does not send emails",
            "Broken contact form on {site}: submissions not arriving",
        ),
        (
            "Since {weekday} the contact form on https://{domain}/contact accepts submissions, "
            "but no email reaches the client's inbox.",
        ),
    ),
    (
        5,
        "Story",
        "content",
        (0, 2, 6, 3, 1),
        (
            "New landing page for the {campaign} campaign on {site}",
            'Landing page "{campaign}" for {site}',
        ),
        (
            "{client} needs a landing page for {campaign} on {domain}, with a hero image, three "
            "teasers and a signup form.",
        ),
    ),
    (
        5,
        "Task",
        "php-upgrade",
        (0, 2, 6, 3, 1),
        ("Upgrade PHP {php} to {php_to} on {site}", "PHP upgrade to {php_to} for {site}"),
        (
            "{site} still runs PHP {php}. Move prod, test and dev to PHP {php_to} and check the "
            "custom modules for deprecations.",
        ),
    ),
    (
        5,
        "Incident",
        "outage",
        (6, 3, 1, 0, 0),
        (
            "{site} is down: {code} {code_text}",
            "Outage: {site} ({domain}) returns {code}",
            "Site down: {site} unreachable since {hhmm} UTC",
        ),
        (
            "Monitoring reports {code} {code_text} on https://{domain} since {hhmm} UTC. The "
            "client called the support line.",
        ),
    ),
    (
        5,
        "Bug",
        "performance",
        (0, 3, 5, 2, 0),
        ("Slow pages on {site} ({path})", "{site}: pages take {secs} seconds to load"),
        (
            "Pages under {path} on {domain} take {secs} seconds to load, mostly for anonymous "
            "visitors.",
        ),
    ),
    (
        4,
        "Task",
        "ssl",
        (1, 4, 4, 1, 0),
        (
            "SSL certificate for {site} ({domain}) expires in {days} days",
            "Renew SSL certificate for {domain} ({site})",
        ),
        ("The certificate for {domain} expires in {days} days and is not renewed automatically.",),
    ),
    (
        5,
        "Bug",
        "media",
        (0, 3, 5, 2, 0),
        (
            "Editors can't upload images on {site}",
            'Image upload fails with "The file could not be saved" on {site}',
        ),
        (
            "Editors at {client} get an error when they upload JPEG images larger than 2 MB on "
            "{domain}.",
        ),
    ),
    (
        4,
        "Bug",
        "cron",
        (0, 3, 5, 2, 0),
        ("Cron failing on {site}", "Cron has not run on {site} for {days} days"),
        (
            "The status report on {domain} says cron last ran {days} days ago; scheduled "
            "publishing and the search index are stale.",
        ),
    ),
    (
        4,
        "Bug",
        "translation",
        (0, 1, 5, 4, 1),
        (
            "{lang} translation missing on {site} {path}",
            "Missing {lang} translations on {site} after content import",
        ),
        ("The {lang} version of {path} on {domain} shows English texts.",),
    ),
    (
        4,
        "Bug",
        "newsletter",
        (0, 3, 5, 2, 0),
        (
            "Newsletter signup broken on {site}",
            "Newsletter subscription form on {site} shows an error",
        ),
        (
            'Visitors who sign up for the newsletter on {domain} see "An error occurred" and '
            "are not added to the mailing list.",
        ),
    ),
    (
        3,
        "Task",
        "gdpr",
        (0, 3, 5, 2, 0),
        (
            "Update GDPR cookie banner on {site}",
            "Cookie banner on {site} loads tracking before consent",
        ),
        (
            "The cookie banner on {domain} must list the new analytics provider, and no tracking "
            "may load before consent.",
        ),
    ),
    (
        4,
        "Bug",
        "search",
        (0, 3, 5, 2, 0),
        (
            "Search not returning results on {site}",
            'Site search on {site} returns no results for "{term}"',
        ),
        ('Searching {domain} for "{term}" returns nothing, although matching pages exist.',),
    ),
    (
        3,
        "Task",
        "upgrade",
        (0, 2, 5, 3, 1),
        ("Upgrade {site} from Drupal {drupal} to {upgrade_to}",),
        (
            "{site} runs Drupal {drupal}. Plan and run the upgrade to {upgrade_to}, including "
            "contrib modules and the theme.",
        ),
    ),
    (
        5,
        "Story",
        "feature",
        (0, 1, 5, 4, 1),
        ("Add {feature} to {site}",),
        ("{client} asks for {feature} on {domain}; designs are attached to the quote.",),
    ),
    (
        5,
        "Task",
        "content",
        (0, 1, 5, 4, 2),
        (
            "Add redirects for old URLs on {site}",
            "Update footer links on {site}",
            "Change opening hours text on {site}",
        ),
        ("{client} sent a list of changes for {domain} by email.",),
    ),
    (
        4,
        "Bug",
        "frontend",
        (0, 2, 5, 3, 1),
        ("Broken layout on {site} in {browser}", "Menu overlaps the header on mobile on {site}"),
        ("On {browser} the main navigation of {domain} overlaps the page content.",),
    ),
    (
        2,
        "Incident",
        "outage",
        (5, 4, 1, 0, 0),
        (
            "Database connection errors on {site}",
            '{site}: "The website encountered an unexpected error"',
        ),
        ("Since {hhmm} UTC {domain} intermittently fails with database connection errors.",),
    ),
    (
        2,
        "Bug",
        "content",
        (0, 2, 5, 3, 0),
        ("404 on {path} on {site} after menu change",),
        ("After the last menu change, {path} on {domain} returns 404 Not Found.",),
    ),
)

EXTRA_PARAGRAPHS = (
    "Reported by {contact} ({client}) by email on {weekday}.",
    "Client package: {package}, first response within {resp} h, resolution within {resol} h.",
    "Steps to reproduce: open https://{domain}{path} as an anonymous visitor and repeat the "
    "action described above.",
    "Environment: production ({domain}), Drupal {drupal}, PHP {php}.",
    "{contact} asks us to check with them before deploying; a campaign goes live this week.",
    "Probably related to the last deploy on {site}; see the previous ticket for details.",
)

# role -> comment texts
COMMENTS = {
    "dev": (
        "Reproduced on a fresh clone of prod into dev. Looking into it.",
        "Found the cause: {cause}. The fix is on branch {key}.",
        "Branch {key} pushed; ready for review.",
        "Cleared the caches and ran cron on {domain}; watching the logs.",
        "Asked {contact} for a screenshot and the exact time it happened.",
        "Test site for {key} is built and the smoke checks pass.",
    ),
    "senior": (
        "Reviewed branch {key}: looks good, moving on.",
        "Please add an update hook instead of changing the config by hand.",
        "Checked on the test site, works as described.",
        "The fix breaks the {module} admin page, please have another look.",
        "Is {cause} also a problem on the other {client} sites?",
    ),
    "po": (
        "Client confirmed the change on the test site.",
        "{contact} asks whether this can go live before Friday.",
        "Sent the test site link to {contact} for review.",
        "{client} is on the {package} package; please keep the SLA in mind.",
    ),
}
# (role, text) for tickets nobody has started yet
TODO_COMMENTS = (
    ("po", "{contact} called again and asks when we can look at this."),
    ("dev", "Asked {contact} for a screenshot and the exact time it happened."),
    ("senior", "Could be {cause}; check that first."),
)
WAIT_COMMENT = "Waiting for {contact} at {client} to {wait}."
SENT_BACK_COMMENT = "Sent back: {cause} is still a problem on the test site."
PAUSED_COMMENT = "Paused: {cause} needs a decision from {contact} first."
SEARCH_TERMS = (
    "opening hours",
    "annual report",
    "parking",
    "price list",
    "vacancies",
    "privacy policy",
    "brochure",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# (id, name, schema, clause names, orderable)
SYSTEM_FIELDS = (
    ("issuekey", "Key", None, ("id", "issue", "issuekey", "key"), False),
    ("summary", "Summary", {"type": "string", "system": "summary"}, ("summary",), True),
    (
        "description",
        "Description",
        {"type": "string", "system": "description"},
        ("description",),
        True,
    ),
    (
        "issuetype",
        "Issue Type",
        {"type": "issuetype", "system": "issuetype"},
        ("issuetype", "type"),
        True,
    ),
    ("priority", "Priority", {"type": "priority", "system": "priority"}, ("priority",), True),
    ("status", "Status", {"type": "status", "system": "status"}, ("status",), False),
    ("assignee", "Assignee", {"type": "user", "system": "assignee"}, ("assignee",), True),
    ("reporter", "Reporter", {"type": "user", "system": "reporter"}, ("reporter",), True),
    (
        "created",
        "Created",
        {"type": "datetime", "system": "created"},
        ("created", "createdDate"),
        False,
    ),
    (
        "updated",
        "Updated",
        {"type": "datetime", "system": "updated"},
        ("updated", "updatedDate"),
        False,
    ),
    (
        "resolutiondate",
        "Resolved",
        {"type": "datetime", "system": "resolutiondate"},
        ("resolutiondate", "resolved"),
        False,
    ),
    (
        "resolution",
        "Resolution",
        {"type": "resolution", "system": "resolution"},
        ("resolution",),
        True,
    ),
    (
        "labels",
        "Labels",
        {"type": "array", "items": "string", "system": "labels"},
        ("labels",),
        True,
    ),
    ("project", "Project", {"type": "project", "system": "project"}, ("project",), False),
    ("comment", "Comment", {"type": "comments-page", "system": "comment"}, ("comment",), True),
)
# (id number, name, custom type, schema type)
CUSTOM_FIELDS = (
    (10101, "Site", "textfield", "string"),
    (10102, "Client", "select", "option"),
    (10103, "Urgency", "select", "option"),
    (10104, "Package", "select", "option"),
)
# Times are integer milliseconds since the epoch, UTC.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000
_DAY_PREFIX: dict[int, str] = {}
_CLOCK = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_SECONDS = [f"{s:02d}." for s in range(60)]
_MILLIS = [f"{m:03d}+0000" for m in range(1000)]
MAIN_PATH = ("In Progress", "Code Review", "QA", "PO Review", "Ready To Deploy", "Done")
GAP_HOURS = {
    "In Progress": 16.0,
    "Code Review": 14.0,
    "QA": 8.0,
    "PO Review": 6.0,
    "Ready To Deploy": 30.0,
    "Done": 20.0,
    "Needs Work": 10.0,
    "Feedback/Impediment": 8.0,
}
PICKUP_FACTOR = {"Gold": 0.3, "Silver": 1.0, "Bronze": 2.0}
# status -> (chance, detour taken right after reaching it on the way to a later status)
DETOURS = {
    "In Progress": (0.12, ["Feedback/Impediment", "In Progress"]),
    "Code Review": (0.18, ["Needs Work", "In Progress", "Code Review"]),
    "QA": (0.08, ["Needs Work", "In Progress", "Code Review", "QA"]),
}
UNASSIGNED = {"To Do": 0.85, "Needs Work": 0.25, "Feedback/Impediment": 0.15, "Done": 0.08}


def jira_time(ms: int) -> str:
    """Format milliseconds since the epoch (UTC) as a Jira timestamp."""
    day, rest = divmod(ms, DAY)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = (EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
    minute, rest = divmod(rest, MINUTE)
    return prefix + _CLOCK[minute] + _SECONDS[rest // 1000] + _MILLIS[rest % 1000]


def status_counts(tickets: int) -> list[int]:
    """Split `tickets` over the statuses by STATUS_WEIGHTS; each gets one from 9 tickets."""
    weights = STATUS_WEIGHTS
    raw = [tickets * w / sum(weights) for w in weights]
    counts = [int(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])
    for i in by_remainder[: tickets - sum(counts)]:
        counts[i] += 1
    if tickets >= len(counts):
        for i, count in enumerate(counts):
            if count == 0:
                counts[i] = 1
                counts[counts.index(max(counts))] -= 1
    return counts


PHP_NEXT = {"8.1": "8.2", "8.2": "8.3", "8.3": "8.4"}
UPGRADE_TO = {"7": "10.5.6", "9": "10.5.6", "10": "11.2.8", "11": "11.3.2"}
POOLS = {
    "module": MODULES,
    "campaign": CAMPAIGNS,
    "cause": CAUSES,
    "lang": LANGUAGES,
    "path": PATHS,
    "browser": BROWSERS,
    "feature": FEATURES,
    "contact": CONTACTS,
    "wait": WAITS,
    "weekday": WEEKDAYS[:5],
    "term": SEARCH_TERMS,
}


class FastRandom(Random):
    """A seeded generator with cheap uniform picks (the build makes ~30 per ticket)."""

    def pick(self, seq: Sequence[T]) -> T:
        """Return a uniformly chosen element of a non-empty sequence."""
        return seq[int(self.random() * len(seq))]

    def between(self, low: int, high: int) -> int:
        """Return a uniformly chosen integer in [low, high]."""
        return low + int(self.random() * (high - low + 1))

    def weighted(self, cum_weights: Sequence[float]) -> int:
        """Return an index drawn with the given cumulative weights."""
        return bisect_right(cum_weights, self.random() * cum_weights[-1])


class Placeholders(dict[str, str]):
    """Values for the text templates; missing ones are drawn from the generator on first use."""

    def __init__(self, rng: FastRandom, **known: str) -> None:
        """Start from the known values (site, domain, client, drupal, php, ...)."""
        super().__init__(known)
        self.rng = rng

    def __missing__(self, name: str) -> str:
        """Draw, remember and return a value for the placeholder `name`."""
        rng, parts = self.rng, self["drupal"].split(".")
        if name in ("code", "code_text"):
            self["code"], self["code_text"] = rng.pick(ERRORS)
            return self[name]
        if name == "core_to":
            value = ".".join([*parts[:-1], str(int(parts[-1]) + 1)])
        elif name == "upgrade_to":
            value = UPGRADE_TO[parts[0]]
        elif name == "php_to":
            value = PHP_NEXT[self["php"]]
        elif name == "mod_ver":
            prefix = "7.x-" if parts[0] == "7" else rng.pick(("", "", "8.x-"))
            value = f"{prefix}{rng.between(1, 6)}.{rng.between(0, 12)}"
            value += "" if prefix else f".{rng.between(0, 20)}"
        elif name in ("sa", "sa_core"):
            kind, top = ("CONTRIB", 120) if name == "sa" else ("CORE", 12)
            value = f"SA-{kind}-2026-{rng.between(1, top):03d}"
        elif name == "hhmm":
            value = f"{rng.between(0, 23):02d}:{rng.between(0, 59):02d}"
        elif name in ("secs", "days"):
            value = str(rng.between(4, 25) if name == "secs" else rng.between(2, 21))
        else:
            value = rng.pick(POOLS[name])
        self[name] = value
        return value


def status_json(index: int) -> dict[str, Any]:
    """Return status number `index` (0-8) as a Jira status object."""
    name = STATUS_NAMES[index]
    category = (
        CATEGORY_NEW if name == "To Do" else CATEGORY_DONE if name == "Done" else CATEGORY_ACTIVE
    )
    return {"id": str(10000 + index), "name": name, "statusCategory": dict(category)}


_CUSTOM_TYPE = "com.atlassian.jira.plugin.system.customfieldtypes:"


def fields_json() -> list[dict[str, Any]]:
    """Return the /field response: the system fields the issues use and the custom fields."""
    out: list[dict[str, Any]] = []
    for fid, name, schema, clauses, orderable in SYSTEM_FIELDS:
        field: dict[str, Any] = {
            "id": fid,
            "key": fid,
            "name": name,
            "custom": False,
            "orderable": orderable,
            "navigable": True,
            "searchable": True,
            "clauseNames": list(clauses),
        }
        if schema is not None:
            field["schema"] = dict(schema)
        out.append(field)
    for number, name, kind, schema_type in CUSTOM_FIELDS:
        fid = f"customfield_{number}"
        out.append(
            {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": True,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [f"cf[{number}]", name],
                "schema": {"type": schema_type, "customId": number, "custom": _CUSTOM_TYPE + kind},
            }
        )
    return out
