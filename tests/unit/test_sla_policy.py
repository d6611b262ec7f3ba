"""SLA settings: packages, calendars and defaults; each mistake one sentence naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.core.config import load_settings
from triage.core.errors import ConfigError
from triage.core.sla.calendar import calendars
from triage.core.sla.measure import CompiledPolicy, Policies
from triage.core.sla.policy import parse_duration


@pytest.fixture(autouse=True)
def _user_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
[queue]
default_package = "Standard"
default_severity = "S3"
severities = ["S1", "S2", "S3", "S4"]

[queue.calendars.warsaw]
timezone = "Europe/Warsaw"
days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
hours = "08:00-16:00"
holidays = "PL"

[sla.Premium]
calendar = "24/7"
weight = 5
response = { S1 = "15m", S2 = 1, S3 = "4h" }
resolution = { S1 = "4h", S2 = "1d", S3 = "3d" }

[sla.Premium.types.Incident]
response = { S1 = "5m" }

[sla.Standard]
calendar = "warsaw"
response = { S1 = "2h", S2 = "4h", S3 = "1d", S4 = "2d" }
resolution = { S1 = "1d", S2 = "3d", S3 = "5d", S4 = "10d" }
"""


def test_a_full_sla_config_compiles_to_targets_in_open_seconds(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, GOOD))
    policies = Policies(settings)

    assert list(settings.sla) == ["Premium", "Standard"]
    premium, standard = policies.packages["Premium"], policies.packages["Standard"]
    assert premium.targets("Task", "s1") == (15 * 60, 4 * 3600)
    # The request type's own target wins; the package's fills what the type leaves out.
    assert premium.targets("incident", "s1") == (5 * 60, 4 * 3600)
    assert premium.targets("Task", "s4") == (None, None)
    # A day is one open day of the calendar: 8 hours on 08:00-16:00, 24 on 24/7.
    assert premium.targets("Task", "s2") == (3600, 86400)
    assert standard.targets("Task", "s3") == (8 * 3600, 5 * 8 * 3600)
    assert standard.calendar.describe() == "Mon-Fri 08:00-16:00 Europe/Warsaw, PL holidays"
    assert policies.package(None, None) == (standard, True)
    assert policies.package("Premium", None) == (premium, False)
    assert policies.severity("s2") == ("S2", False)
    assert policies.severity("Blocker") == ("S3", True)


def test_without_sla_settings_the_three_usual_packages_apply(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml")
    assert list(settings.sla) == ["Gold", "Silver", "Bronze"]
    gold = CompiledPolicy("Gold", settings.sla["Gold"], calendars({})["24/7"])
    assert gold.targets("Bug", "highest") == (3600, 8 * 3600)


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        (
            '[sla.Gold]\nresponse = { Urgent = "1h" }\n',
            "'sla.Gold.response.Urgent' is not a severity",
            "Highest, High, Medium, Low, Lowest",
        ),
        (
            '[sla.Gold.types.Bug]\nresolution = { Sev1 = "1h" }\n',
            "'sla.Gold.types.Bug.resolution.Sev1' is not a severity",
            "queue.severities",
        ),
        (
            '[sla.Gold]\ncalendar = "ofice"\n',
            "'sla.Gold.calendar' names no calendar 'ofice'",
            "24/7, office",
        ),
        (
            '[queue]\ndefault_package = "Platinum"\n',
            "'queue.default_package' names 'Platinum', which has no policy",
            "[sla.Platinum]",
        ),
        (
            '[queue]\ndefault_severity = "Urgent"\n',
            "'queue.default_severity' is not a severity",
            "Highest",
        ),
        (
            '[queue.calendars.pl]\ntimezone = "Europe/Warszawa"\n',
            "'queue.calendars.pl.timezone' is wrong",
            "there is no time zone 'Europe/Warszawa'",
        ),
        (
            '[queue.calendars.pl]\nholidays = "XX"\n',
            "'queue.calendars.pl.holidays' is wrong",
            "knows no country 'XX'",
        ),
        (
            '[queue.calendars.pl]\nhours = "17:00-09:00"\n',
            "'queue.calendars.pl.hours' is wrong",
            "closes before it opens",
        ),
        (
            '[queue.calendars.pl]\ndays = ["Mon", "Funday"]\n',
            "'queue.calendars.pl.days' is wrong",
            "'Funday' is not a weekday",
        ),
        (
            '[sla.Gold]\nresponse = { High = "soon" }\n',
            "'sla.Gold.response' is wrong",
            "'soon' is not a duration",
        ),
    ],
)
def test_each_sla_mistake_is_one_sentence_naming_the_key(
    tmp_path: Path, text: str, key: str, hint: str
) -> None:
    path = config(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    message = str(caught.value)
    assert key in message
    assert hint in message
    assert str(path) in message
    assert "\n" not in message


def test_durations() -> None:
    assert parse_duration(4) == (0, 4 * 3600)
    assert parse_duration("90m") == (0, 90 * 60)
    assert parse_duration("1d4h30m") == (1, 4 * 3600 + 30 * 60)
    with pytest.raises(ValueError, match="more than zero"):
        parse_duration(0)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("4 hours")
