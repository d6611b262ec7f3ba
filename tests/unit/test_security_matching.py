"""Matching advisories to what the sites run, on records built in memory (no cache)."""

from __future__ import annotations

from triage.core.security.matching import match
from triage.storage.models import Advisory, SiteLock, SitePackage


def lock(site: str, ref: str = "main", commit: str = "c" * 40, role: str = "main") -> SiteLock:
    return SiteLock(site=site, ref=ref, role=role, commit=commit)


def pin(site: str, version: str, ref: str = "main", name: str = "drupal/core") -> SitePackage:
    return SitePackage(site=site, ref=ref, name=name, version=version)


LOCKS = [lock("a"), lock("b"), lock("b", "live", role="prod"), lock("c"), lock("d", commit="")]
PINS = [pin("a", "10.4.8"), pin("b", "10.4.9"), pin("b", "10.4.7", "live"), pin("c", "dev-main")]


def states(advisory: Advisory) -> dict[str, tuple[str, str, str]]:
    (found,) = match([advisory], LOCKS, PINS)
    return {s.site: (s.state, s.version, s.ref) for s in found.sites}


def test_affected_patched_unknown_and_absent() -> None:
    advisory = Advisory(id="SA-1", package="drupal/core", affected=">=10.0 <10.4.9")
    assert states(advisory) == {
        "a": ("affected", "10.4.8", "main"),
        "b": ("affected", "10.4.7", "live"),  # prod still runs the affected version
        "c": ("patched", "dev-main", "main"),  # a dev- branch never matches a number
        "d": ("unknown", "", ""),  # its lock was never read
    }
    assert states(Advisory(id="SA-2", package="drupal/token", affected="<2")) == {
        "d": ("unknown", "", "")
    }


def test_a_psa_or_a_bad_version_is_unknown() -> None:
    psa = Advisory(id="PSA-1", package="drupal/core", affected="", kind="psa")
    assert {state for state, _, _ in states(psa).values()} == {"unknown"}
    odd = [pin("a", "not a version")]
    (found,) = match([Advisory(id="SA-3", package="drupal/core", affected="<11")], LOCKS, odd)
    assert [(s.site, s.state) for s in found.sites] == [("a", "unknown"), ("d", "unknown")]


def test_most_severe_and_most_affecting_first() -> None:
    advisories = [
        Advisory(id="SA-LOW", package="drupal/core", affected="<99", severity="low"),
        Advisory(id="SA-CRIT-NONE", package="drupal/core", affected="<1", severity="critical"),
        Advisory(id="SA-CRIT", package="drupal/core", affected="<99", severity="critical"),
    ]
    assert [m.advisory.id for m in match(advisories, LOCKS, PINS)] == [
        "SA-CRIT", "SA-CRIT-NONE", "SA-LOW"
    ]  # fmt: skip
