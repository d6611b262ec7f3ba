"""The SQLite cache file: private to its owner, and one sentence when it is damaged or read-only."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from triage.storage.db import open_cache, sqlite_url
from triage.storage.errors import StorageError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_cache_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "data"
    engine = open_cache(sqlite_url(folder / "triage.db"))
    try:
        with engine.begin() as connection:  # a write, so the WAL and shared memory exist
            connection.execute(sa.text("UPDATE meta SET value = value"))
        files = [folder / "triage.db", folder / "triage.db-wal", folder / "triage.db-shm"]
        assert all(path.exists() for path in files), list(folder.iterdir())
        assert {path.name: oct(_mode(path)) for path in files} == {
            path.name: oct(0o600) for path in files
        }
        assert oct(_mode(folder)) == oct(0o700)
    finally:
        engine.dispose()


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    open_cache(sqlite_url(folder / "triage.db")).dispose()
    assert oct(_mode(folder)) == oct(0o755)
    assert oct(_mode(folder / "triage.db")) == oct(0o600)


def test_a_file_that_is_not_a_database_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "triage.db"
    path.write_bytes(b"garbage, not SQLite\n" + os.urandom(4096))
    with pytest.raises(StorageError) as caught:
        open_cache(sqlite_url(path))
    message = str(caught.value)
    assert str(path) in message and "\n" not in message


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A cache file this process cannot write (immutable when running as root)."""
    path = tmp_path / "triage.db"
    open_cache(sqlite_url(path)).dispose()
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o400)
    try:
        yield path
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_cache_is_one_sentence(read_only: Path) -> None:
    with pytest.raises(StorageError) as caught:
        open_cache(sqlite_url(read_only))
    message = str(caught.value)
    assert str(read_only) in message and "read-only" in message and "\n" not in message
