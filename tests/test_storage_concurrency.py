"""Storage under concurrency (reference/fault-tests.md #37 and #38): real databases on disk, real separate processes.

#37 A reader that keeps opening and closing short transactions while a writer commits batch after batch must not
    keep SQLite from checkpointing: the write-ahead log stays bounded and can be truncated afterwards.
#38 Matching and a reviewer writing about the same finding at the same time: no `database is locked`, no lost
    update, on SQLite (BEGIN IMMEDIATE + busy_timeout) and on PostgreSQL (row locks).
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from multiprocessing.connection import Connection as PipeEnd
from multiprocessing.synchronize import Barrier as BarrierType
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, func, select, text, update
from sqlalchemy.orm import Session, selectinload

from core.catalogue import sync_catalogue
from core.db import Database
from core.models import Finding, Listing, Marketplace, ReviewDecision
from dashboard.data.reviews import review
from matching.run import run_matching
from tests.matching_kit import add_listing, make_config
from tests.storage_kit import read_in_short_transactions, wal_size, write_listings

pytestmark = pytest.mark.timeout(120)

SPAWN = multiprocessing.get_context("spawn")
PROCESS_TIMEOUT_S = 90.0  # generous: a bound for a hang, never a measure of speed

# #37: ~18 MB of listings (a page each) in 200 commits of ~100 kB: several times what one checkpoint cycle lets
# the log hold. Small commits because each commit the reader's snapshot holds back grows the log by one commit.
WAL_ROWS = 5_000
WAL_BATCH = 25
WAL_ROW_DESCRIPTION = "x" * 3_500


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = PROCESS_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_long_reader_does_not_starve_checkpoint(tmp_path: Path) -> None:
    database_file = tmp_path / "wal.db"
    url = f"sqlite:///{database_file}"
    db = Database(url)
    with db.session() as session:
        session.add(Marketplace(name="m"))
    with db.read() as session:
        page_size = int(session.execute(text("PRAGMA page_size")).scalar_one())
        autocheckpoint_pages = int(session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())
    # The log is checkpointed (and then reused from its start) once it holds autocheckpoint_pages pages; allow as
    # much again for batches committed while a reader pinned an older snapshot. A reader that starves the
    # checkpoint lets the log grow to everything written, which is far more.
    wal_bound = 2 * autocheckpoint_pages * page_size
    assert WAL_ROWS * len(WAL_ROW_DESCRIPTION) > 2 * wal_bound, "write more, or the bound proves nothing"

    stop_reading = SPAWN.Event()
    reader_loops = SPAWN.Value("q", 0)
    reader_newest_seen = SPAWN.Value("q", 0)
    reader = SPAWN.Process(target=read_in_short_transactions,
                           args=(url, stop_reading, reader_loops, reader_newest_seen))
    writer = SPAWN.Process(target=write_listings, args=(url, WAL_ROWS, WAL_BATCH, WAL_ROW_DESCRIPTION))
    reader.start()
    try:
        _wait_until(lambda: reader_loops.value > 0 or not reader.is_alive(), "the reader's first transaction")
        loops_before_writes = reader_loops.value
        writer.start()
        largest_wal = 0
        deadline = time.monotonic() + PROCESS_TIMEOUT_S
        while writer.is_alive() and time.monotonic() < deadline:
            largest_wal = max(largest_wal, wal_size(database_file))
            time.sleep(0.005)
        writer.join(timeout=1)
        largest_wal = max(largest_wal, wal_size(database_file))
        loops_during_writes = reader_loops.value - loops_before_writes
        # Checkpoint while the reader is still at it: its short transactions must not keep the log from resetting.
        raw = db.engine.raw_connection()
        try:
            busy, log_frames, checkpointed_frames = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            raw.close()
        wal_after_checkpoint = wal_size(database_file)
        reader_alive_at_checkpoint = reader.is_alive()
    finally:
        stop_reading.set()
        reader.join(timeout=PROCESS_TIMEOUT_S)
        for process in (reader, writer):
            if process.is_alive():
                process.kill()

    assert writer.exitcode == 0, "the writer failed (see its traceback above)"
    assert reader.exitcode == 0, "the reader failed (see its traceback above)"
    assert reader_alive_at_checkpoint
    assert loops_during_writes > 0 and reader_newest_seen.value > 0, "the reader must read while the writer writes"
    assert largest_wal < wal_bound, (
        f"the -wal file reached {largest_wal} bytes (bound {wal_bound}): checkpoints were starved")
    assert busy == 0, f"wal_checkpoint(TRUNCATE) was blocked (log {log_frames}, checkpointed {checkpointed_frames})"
    assert wal_after_checkpoint == 0
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Listing)) == WAL_ROWS
        assert session.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    db.dispose()


# ----------------------------------------------------------------------------------------------------------------
# #38: matching re-judging findings while a reviewer records decisions on the same findings

RACE_ROUNDS = 12
CONTESTED_PER_ROUND = 3  # findings both writers write about
UNCONTESTED_PER_ROUND = 2  # findings only matching writes about, to see matching's own writes land
ANALYST = "ana"
MATCHING, REVIEWER, NEITHER = "matching", "reviewer", "neither"
# Which writer gets inside its write transaction first, round by round; in NEITHER rounds they just start together.
ROUND_ORDER = [MATCHING, REVIEWER, NEITHER] * (RACE_ROUNDS // 3)
OVERLAP_PAUSE_S = 0.2  # how long the first writer lingers inside once the second is beginning its own transaction
GATE_TIMEOUT_S = 30.0
# A counterfeit at first; the crawler then sees a new title and price, so matching has a different verdict to write.
FIRST_CONTENT: dict[str, Any] = {"title": "露米娜焕活精华液 高仿", "price": Decimal("136")}
CHANGED_CONTENT: dict[str, Any] = {"title": "露米娜焕活精华液 30ml", "price": Decimal("500")}


@dataclass(frozen=True)
class RacePlan:
    first: str  # MATCHING, REVIEWER or NEITHER
    finding_ids: tuple[int, ...]  # what the reviewer decides on
    decision: ReviewDecision


class OverlapGate:
    """Makes one writer begin its write transaction while the other is inside its own, whatever the scheduler does.

    The leader pauses after its reads and before its writes (the session's before_flush) until the follower is
    about to begin its write transaction (the begin event, ahead of core.db's BEGIN IMMEDIATE), then
    lingers OVERLAP_PAUSE_S. With BEGIN IMMEDIATE the follower waits on busy_timeout and then reads what the leader
    committed; with a deferred BEGIN both would read one snapshot and the second to write would fail with
    `database is locked` (SQLITE_BUSY_SNAPSHOT, which no busy_timeout waits out). On PostgreSQL the row locks
    (SELECT ... FOR UPDATE) must do the same.
    """

    def __init__(self, db: Database, leader_inside: EventType, follower_beginning: EventType) -> None:
        self.leader_inside = leader_inside
        self.follower_beginning = follower_beginning
        self.part = ""  # "lead", "follow" or "" (no gate) this round
        self.signalled = False
        event.listen(db.sessions, "before_flush", self._before_flush)
        # On the Engine class: class-level listeners run before an engine's own, so this one fires ahead of
        # core.db's BEGIN IMMEDIATE, which is where the follower may wait. (One database per writer process.)
        event.listen(Engine, "begin", self._on_begin)

    def start_round(self, part: str) -> None:
        self.part, self.signalled = part, False
        if part == "follow" and not self.leader_inside.wait(GATE_TIMEOUT_S):
            raise RuntimeError("the other writer never got inside its write transaction")

    def _before_flush(self, session: Session, _context: Any, _instances: Any) -> None:
        if self.part != "lead" or self.signalled or not (session.new or session.dirty):
            return
        self.signalled = True
        self.leader_inside.set()
        if not self.follower_beginning.wait(GATE_TIMEOUT_S):
            raise RuntimeError("the other writer never began its write transaction")
        time.sleep(OVERLAP_PAUSE_S)  # so the follower's BEGIN (or its reads) happens while this one is inside

    def _on_begin(self, connection: Connection) -> None:
        # Only write transactions (core.db's sessions carry immediate=True); matching reads in deferred ones first.
        if self.part == "follow" and not self.signalled and connection.get_execution_options().get("immediate"):
            self.signalled = True
            self.follower_beginning.set()


def _part(first: str, role: str) -> str:
    if first == NEITHER:
        return ""
    return "lead" if first == role else "follow"


def _matching_process(url: str, config_dir: Path, channel: PipeEnd, start_together: BarrierType,
                      leader_inside: EventType, follower_beginning: EventType) -> None:
    """The nightly matching, round after round: run_matching over what the crawler changed."""
    db = Database(url, migrate_schema=False)
    config = make_config(config_dir, write_files=False)
    gate = OverlapGate(db, leader_inside, follower_beginning)
    while (plan := channel.recv()) is not None:
        try:
            start_together.wait(GATE_TIMEOUT_S)
            gate.start_round(_part(plan.first, MATCHING))
            channel.send({"summary": run_matching(db, config).to_dict()})
        except Exception:
            channel.send({"error": traceback.format_exc()})
    db.dispose()


def _reviewer_process(url: str, channel: PipeEnd, start_together: BarrierType, leader_inside: EventType,
                      follower_beginning: EventType) -> None:
    """An analyst in the dashboard, round after round: one decision on a few findings (dashboard.data.reviews)."""
    db = Database(url, migrate_schema=False)
    gate = OverlapGate(db, leader_inside, follower_beginning)
    while (plan := channel.recv()) is not None:
        try:
            start_together.wait(GATE_TIMEOUT_S)
            gate.start_round(_part(plan.first, REVIEWER))
            result = review(db, plan.finding_ids, plan.decision, ANALYST)
            channel.send({"reviewed": result.reviewed, "skipped": result.skipped, "missing": result.missing})
        except Exception:
            channel.send({"error": traceback.format_exc()})
    db.dispose()


def _receive(channel: PipeEnd, who: str) -> dict[str, Any]:
    if not channel.poll(PROCESS_TIMEOUT_S):
        raise AssertionError(f"{who} gave no answer in {PROCESS_TIMEOUT_S:.0f} s (a hang, not slowness)")
    answer: dict[str, Any] = channel.recv()
    return answer


def _add_race_listing(db: Database, external_id: str) -> int:
    # A seller each, so one listing's confirmed finding never colours another's seller history.
    return add_listing(db, "shop", external_id, FIRST_CONTENT["title"], price=str(FIRST_CONTENT["price"]),
                       seller=(f"小铺{external_id}", f"x-{external_id}"), location="广东 深圳")


def _set_content(db: Database, listing_ids: list[int], content: dict[str, Any]) -> None:
    """What the crawler's storage does when a listing's page changes: new values and a new content version."""
    with db.session() as session:
        session.execute(update(Listing).where(Listing.id.in_(listing_ids))
                        .values(**content, content_version=Listing.content_version + 1))


@dataclass(frozen=True)
class FindingState:
    id: int
    verdict: str
    score: float
    updated_at: datetime
    decisions: tuple[tuple[str, str], ...]  # (reviewer, decision), oldest first


def _finding_states(db: Database, listing_ids: list[int]) -> dict[int, FindingState]:
    """Each listing's finding as it stands, with its reviews, by listing id."""
    with db.read() as session:
        findings = session.scalars(select(Finding).where(Finding.listing_id.in_(listing_ids))
                                   .options(selectinload(Finding.reviews))).all()
        return {f.listing_id: FindingState(f.id, f.verdict.value, f.score, f.updated_at,
                                           tuple((r.reviewer, r.decision.value) for r in f.reviews))
                for f in findings}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def race_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    postgres_url: str = request.getfixturevalue("postgres_url")
    return postgres_url


def test_two_writers_immediate(race_database_url: str, tmp_path: Path) -> None:
    """Matching (run_matching) and a reviewer (dashboard.data.reviews.review), each in a process of its own, write
    about the same findings in round after round: matching has a new verdict for them because the crawler saw
    their listings change, the reviewer records a decision on them. Either order is fine; neither writer may fail
    (`database is locked`), the decision must stand, and matching's own writes must land. On PostgreSQL the same
    holds through row locks instead of BEGIN IMMEDIATE."""
    db = Database(race_database_url)
    config = make_config(tmp_path)
    assert sync_catalogue(db, config).ok
    contested = [[_add_race_listing(db, f"r{number}-c{k}") for k in range(CONTESTED_PER_ROUND)]
                 for number in range(len(ROUND_ORDER))]
    uncontested = [[_add_race_listing(db, f"r{number}-u{k}") for k in range(UNCONTESTED_PER_ROUND)]
                   for number in range(len(ROUND_ORDER))]
    all_listings = [i for ids in contested + uncontested for i in ids]
    run_matching(db, config)
    first_states = _finding_states(db, all_listings)
    assert len(first_states) == len(all_listings)

    start_together = SPAWN.Barrier(2)
    leader_inside, follower_beginning = SPAWN.Event(), SPAWN.Event()
    matching_end, matching_child_end = SPAWN.Pipe()
    reviewer_end, reviewer_child_end = SPAWN.Pipe()
    processes = [
        SPAWN.Process(target=_matching_process, args=(race_database_url, tmp_path, matching_child_end,
                                                      start_together, leader_inside, follower_beginning)),
        SPAWN.Process(target=_reviewer_process, args=(race_database_url, reviewer_child_end, start_together,
                                                      leader_inside, follower_beginning)),
    ]
    for process in processes:
        process.start()
    try:
        for number, first in enumerate(ROUND_ORDER):
            round_listings = contested[number] + uncontested[number]
            _set_content(db, round_listings, CHANGED_CONTENT)
            leader_inside.clear()
            follower_beginning.clear()
            decision = ReviewDecision.CONFIRMED if number % 2 == 0 else ReviewDecision.DISMISSED
            plan = RacePlan(first, tuple(first_states[i].id for i in contested[number]), decision)
            matching_end.send(plan)
            reviewer_end.send(plan)
            matched = _receive(matching_end, "matching")
            reviewed = _receive(reviewer_end, "the reviewer")
            where = f"round {number} ({first} first)"
            # No `database is locked` (nor any other error) surfaces in either writer.
            assert "error" not in matched, f"{where}: matching failed:\n{matched['error']}"
            assert "error" not in reviewed, f"{where}: the reviewer failed:\n{reviewed['error']}"
            # The reviewer's decisions all went in: none refused, none lost.
            assert (reviewed["reviewed"], reviewed["skipped"], reviewed["missing"]) == (list(plan.finding_ids), [], [])
            summary = matched["summary"]
            assert summary["examined"] == len(round_listings)

            states = _finding_states(db, round_listings)
            with db.read() as session:
                versions = session.execute(select(Listing.content_version, Listing.matched_version)
                                           .where(Listing.id.in_(round_listings))).all()
            assert all(content == matched_version for content, matched_version in versions), where
            # Matching's own writes landed: every finding only matching writes about has its new verdict.
            new_verdicts = {(states[i].verdict, states[i].score) for i in uncontested[number]}
            assert len(new_verdicts) == 1, where
            assert new_verdicts != {(first_states[i].verdict, first_states[i].score) for i in uncontested[number]}
            assert all(states[i].updated_at != first_states[i].updated_at for i in uncontested[number]), where
            rewritten = kept = 0
            for listing_id in contested[number]:
                state, before = states[listing_id], first_states[listing_id]
                # The decision stands on the same finding (not on a replaced one), exactly once.
                assert state.id == before.id, where
                assert state.decisions == ((ANALYST, decision.value),), where
                if state.updated_at == before.updated_at:  # the review came first: matching left it alone
                    assert (state.verdict, state.score) == (before.verdict, before.score), where
                    kept += 1
                else:  # matching came first, and the reviewer decided on what matching wrote
                    assert {(state.verdict, state.score)} == new_verdicts, where
                    rewritten += 1
            assert (summary["kept_reviewed"], summary["updated"]) == (kept, rewritten + UNCONTESTED_PER_ROUND), where
            if first == REVIEWER:
                # The decisions were being recorded before matching began its batch, so matching must see them.
                assert kept == CONTESTED_PER_ROUND, f"{where}: matching rewrote findings a reviewer had decided on"
            elif first == MATCHING:
                assert rewritten == CONTESTED_PER_ROUND, where
    finally:
        for channel in (matching_end, reviewer_end):
            channel.send(None)
        for process in processes:
            process.join(timeout=PROCESS_TIMEOUT_S)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in processes] == [0, 0]

    # The decisions survive the next matching run too, although every listing changed again.
    all_contested = [i for ids in contested for i in ids]
    all_uncontested = [i for ids in uncontested for i in ids]
    before_rerun = _finding_states(db, all_listings)
    _set_content(db, all_listings, FIRST_CONTENT)
    rerun = run_matching(db, config)
    assert (rerun.kept_reviewed, rerun.updated) == (len(all_contested), len(all_uncontested))
    after_rerun = _finding_states(db, all_listings)
    assert {i: after_rerun[i] for i in all_contested} == {i: before_rerun[i] for i in all_contested}
    assert all((after_rerun[i].verdict, after_rerun[i].score) == (first_states[i].verdict, first_states[i].score)
               for i in all_uncontested)
    db.dispose()
