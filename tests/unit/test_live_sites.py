"""The fleet screen's reads of a rollout: only the rows changed lately, all of them now and then."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.core.security.progress import LiveSites
from triage.storage import rollouts as store
from triage.storage.models import Rollout, RolloutSite, RolloutState

SA = "SA-CORE-2026-LIVE"
CORE = "drupal/core"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def rollout_of(engine: Engine, sites: int) -> None:
    with Session(engine) as session:
        session.add(Rollout(advisory_id=SA, package=CORE, severity="critical", started=T0))
        for number in range(sites):
            row = RolloutSite(advisory_id=SA, package=CORE, site=f"site-{number}",
                              state=RolloutState.QUEUED, rank=number, updated=T0)  # fmt: skip
            session.add(row)
        session.commit()


def test_a_read_gets_the_changes_and_keeps_the_rows_that_did_not_change(engine: Engine) -> None:
    rollout_of(engine, 3)
    live = LiveSites(engine, SA, CORE)
    live.read()
    store.update(engine, (SA, CORE, "site-1"), T0 + timedelta(minutes=5),
                 state=RolloutState.RUNNING, step="branch")  # fmt: skip
    first = live.read()

    store.update(engine, (SA, CORE, "site-2"), T0 + timedelta(minutes=5, seconds=1),
                 state=RolloutState.RUNNING)  # fmt: skip
    second = live.read()

    assert [row.site for row in second] == ["site-0", "site-1", "site-2"]
    assert [row.state for row in second] == [RolloutState.QUEUED, *[RolloutState.RUNNING] * 2]
    assert (first[1].state, first[1].step) == (RolloutState.RUNNING, "branch")
    assert second[0] is first[0]  # not read again: unchanged long before the newest change


def test_a_change_stamped_long_before_the_newest_shows_at_the_next_full_read(
    engine: Engine,
) -> None:
    rollout_of(engine, 2)
    live = LiveSites(engine, SA, CORE)
    live.read()
    store.update(engine, (SA, CORE, "site-0"), T0 + timedelta(minutes=5), step="branch")
    live.read()
    # A process whose clock is behind writes a change older than the margin allows for.
    store.update(engine, (SA, CORE, "site-1"), T0 + timedelta(minutes=1), step="update")

    reads = [live.read() for _ in range(LiveSites.FULL_EVERY)]

    assert reads[0][1].step == ""  # an incremental read does not see it
    assert reads[-1][1].step == "update"  # the full read does


def test_a_site_added_while_the_screen_reads_shows_in_its_place(engine: Engine) -> None:
    rollout_of(engine, 2)
    live = LiveSites(engine, SA, CORE)
    live.read()
    with Session(engine) as session:  # starting the rollout again adds a newly affected site
        session.add(RolloutSite(advisory_id=SA, package=CORE, site="site-0b",
                                state=RolloutState.QUEUED, rank=0,
                                updated=T0 + timedelta(minutes=5)))  # fmt: skip
        session.commit()

    rows = live.read()

    assert [row.site for row in rows] == ["site-0", "site-0b", "site-1"]


def test_the_plain_rows_carry_what_the_model_rows_carry(engine: Engine) -> None:
    rollout_of(engine, 3)
    store.update(engine, (SA, CORE, "site-2"), T0 + timedelta(minutes=5),
                 state=RolloutState.WAITING, step="report", job_id=7, reason="window",
                 prod_after=T0 + timedelta(hours=24), ticket_key="SUP-3")  # fmt: skip

    views = store.site_views(engine, SA, CORE)
    models = store.site_rows(engine, SA, CORE)

    assert [view.site for view in views] == ["site-0", "site-1", "site-2"]
    for view, model in zip(views, models, strict=True):
        for field in fields(store.SiteView):
            assert getattr(view, field.name) == getattr(model, field.name), field.name
    assert views[2].state is RolloutState.WAITING
    assert views[2].prod_after == T0 + timedelta(hours=24)
    since = store.site_views(engine, SA, CORE, since=T0 + timedelta(minutes=1))
    assert [view.site for view in since] == ["site-2"]
