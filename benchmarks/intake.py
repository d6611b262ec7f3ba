"""Intake of 1,000 mails: mails per second, from a Maildir (default) or a real Dovecot (--imap).

The mails are the real-world fixtures (new requests, replies by key and by thread,
auto-replies, HTML, attachments, an unreadable one) copied with their own Message-IDs.
Each run starts from a fresh SQLite cache and a mailbox of all mails unread, and takes
every one of them (recorded, outbox rows queued, marked taken). Printed: the median over
the runs, and a baseline in the same process: reading the same bytes with the stdlib
e-mail parser alone, so the ratio says what intake costs on top of parsing.
"""

from __future__ import annotations

import argparse
import email
import importlib
import re
import statistics
import sys
import tempfile
import time
from email import policy
from pathlib import Path
from typing import Any

from common import ROOT

from triage.core.config import load_settings
from triage.core.intake.mailbox import ImapMailbox, MaildirMailbox
from triage.core.intake.run import Intake
from triage.storage.db import open_cache, sqlite_url

MAIL = ROOT / "tests" / "fixtures" / "mail"
_IDS = re.compile(rb"(?im)^((?:Message-ID|In-Reply-To|References):\s*<)")


def mails(count: int) -> list[bytes]:
    """`count` mails: the fixtures over and over, each copy with its own Message-IDs."""
    sources = [path.read_bytes() for path in sorted(MAIL.glob("*.eml"))]
    found: list[bytes] = []
    copy = 0
    while len(found) < count:
        prefix = f"b{copy}.".encode()
        for raw in sources:
            head, sep, body = raw.partition(b"\r\n\r\n")
            head = _IDS.sub(rb"\1" + prefix, head)
            found.append(head + sep + body if sep else raw + f" {copy}".encode())
        copy += 1
    return found[:count]


def fill_maildir(path: Path, data: list[bytes]) -> None:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for number, raw in enumerate(data):
        (path / "new" / f"{number:06d}.bench").write_bytes(raw)


def run_maildir(data: list[bytes], work: Path) -> float:
    maildir = work / "Maildir"
    fill_maildir(maildir, data)
    settings = load_settings(work / "absent.toml", data_dir=str(work), jira={"projects": ["SUP"]})
    engine = open_cache(sqlite_url(work / "cache.db"))
    start = time.perf_counter()
    result = Intake(engine, settings, MaildirMailbox(maildir)).run_once()
    elapsed = time.perf_counter() - start
    engine.dispose()
    assert result.taken == len(data), result.summary()
    return elapsed


def run_imap(data: list[bytes], work: Path, port: int, user: str) -> float:
    from imap_tools import MailBoxUnencrypted

    with MailBoxUnencrypted("127.0.0.1", port, timeout=30).login(user, "bench") as box:
        for raw in data:
            box.append(raw, "INBOX")
    settings = load_settings(work / "absent.toml", data_dir=str(work), jira={"projects": ["SUP"]})
    engine = open_cache(sqlite_url(work / "cache.db"))
    start = time.perf_counter()
    mailbox = ImapMailbox("127.0.0.1", port, user, "bench", ssl=False)
    result = Intake(engine, settings, mailbox).run_once()
    mailbox.close()
    elapsed = time.perf_counter() - start
    engine.dispose()
    assert result.taken == len(data), result.summary()
    return elapsed


def baseline(data: list[bytes]) -> float:
    start = time.perf_counter()
    for raw in data:
        message = email.message_from_bytes(raw, policy=policy.default)
        for part in message.walk():
            part.get_payload(decode=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--imap", action="store_true", help="read from a throwaway Dovecot")
    args = parser.parse_args()
    data = mails(args.mails)
    server: Any = None
    if args.imap:
        sys.path.insert(0, str(ROOT / "tests"))
        dovecot = importlib.import_module("dovecot")  # the tests' throwaway server
        binary = dovecot.find_dovecot()
        if binary is None:
            sys.exit("dovecot is not installed: apt-get install dovecot-imapd")
        server = dovecot.DovecotServer(binary, {f"bench{n}": "bench" for n in range(args.runs)})
        server.start()
    try:
        times, bases = [], []
        for run in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="triage-bench-intake-") as tmp:
                work = Path(tmp)
                if server is not None:
                    times.append(run_imap(data, work, server.port, f"bench{run}"))
                else:
                    times.append(run_maildir(data, work))
            bases.append(baseline(data))
    finally:
        if server is not None:
            server.stop()
    took, base = statistics.median(times), statistics.median(bases)
    source = "IMAP (Dovecot on loopback)" if args.imap else "Maildir"
    print(f"intake of {len(data)} mails from a {source}, median of {args.runs} runs:")
    print(f"  intake:            {took * 1000:8.0f} ms  {len(data) / took:8.0f} mails/s")
    print(f"  stdlib parse only: {base * 1000:8.0f} ms  {len(data) / base:8.0f} mails/s")
    print(f"  ratio intake / parse: {took / base:.1f}x")


if __name__ == "__main__":
    main()
