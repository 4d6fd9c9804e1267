"""Leases: one holder at a time per name, kept by a heartbeat. One scheduler per database (`SchedulerLease`), and
one crawl per marketplace (`CrawlLease`: two crawls of one marketplace would interleave their writes, and each
would close the other's run as interrupted).

A row lock would do on PostgreSQL only and an OS file lock on one host only; a lease in a table works on SQLite
and PostgreSQL alike and across hosts. A lease whose heartbeat is older than `stale_after` (its holder died or
lost the database) may be taken over, and so may one held by a process of this host that no longer exists.
The hosts' clocks must agree to well within `stale_after` (NTP does that).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, OperationalError

from core.db import Database
from core.models import SchedulerLock, as_utc, utcnow

logger = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
LEASE_STALE_AFTER = STALE_AFTER = timedelta(minutes=5)
HEARTBEAT_EVERY_S = 30.0


@dataclass(frozen=True)
class LeaseHolder:
    owner: str
    host: str
    pid: int
    acquired_at: datetime
    heartbeat_at: datetime

    def describe(self, now: datetime | None = None) -> str:
        age = ((now or utcnow()) - self.heartbeat_at).total_seconds()
        return f"pid {self.pid} on {self.host}, started {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC, " \
               f"heartbeat {max(age, 0):.0f} s ago"


class LeaseHeld(RuntimeError):
    """Someone else holds the lease."""

    def __init__(self, holder: LeaseHolder, message: str):
        self.holder = holder
        super().__init__(message)


class SchedulerLocked(LeaseHeld):
    """Another scheduler holds the lease on this database."""

    def __init__(self, holder: LeaseHolder, stale_after: timedelta):
        super().__init__(holder, (
            f"another scheduler is already running on this database ({holder.describe()}); "
            f"stop it first, or wait {stale_after.total_seconds() / 60:.0f} minutes after it died for its lease "
            "to expire"
        ))


class CrawlAlreadyRunning(LeaseHeld):
    """Another process is crawling this marketplace."""

    def __init__(self, marketplace: str, holder: LeaseHolder, stale_after: timedelta):
        super().__init__(holder, (
            f"marketplace '{marketplace}' is already being crawled ({holder.describe()}); wait for that crawl "
            f"to finish or stop it (kill {holder.pid} on {holder.host}); a crawl that died frees the marketplace "
            f"at once on its own host, else after {stale_after.total_seconds() / 60:.0f} minutes"
        ))


def _holder(row: SchedulerLock) -> LeaseHolder:
    return LeaseHolder(row.owner, row.host, row.pid, as_utc(row.acquired_at), as_utc(row.heartbeat_at))


def read_holder(db: Database, name: str = LEASE_NAME) -> LeaseHolder | None:
    with db.read() as session:
        row = session.get(SchedulerLock, name)
        return _holder(row) if row is not None else None


def process_gone(pid: int) -> bool:
    """Whether process `pid` of this host has exited."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, belongs to someone else
    return False


class Lease:
    """One holder at a time of the lease `name`; `acquire` raises what `refused` makes of the holder."""

    def __init__(self, db: Database, *, name: str, stale_after: timedelta = STALE_AFTER,
                 heartbeat_every_s: float = HEARTBEAT_EVERY_S):
        self.db = db
        self.name = name
        self.stale_after = stale_after
        self.heartbeat_every_s = heartbeat_every_s
        self.owner = uuid.uuid4().hex
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refused(self, holder: LeaseHolder) -> LeaseHeld:
        return LeaseHeld(holder, f"lease {self.name} is held by {holder.describe()}")

    def _takeable(self, holder: LeaseHolder, now: datetime) -> str | None:
        """Why a lease held by someone else may be taken over, or None when it may not."""
        if now - holder.heartbeat_at > self.stale_after:
            return f"its heartbeat is {(now - holder.heartbeat_at).total_seconds():.0f} s old"
        if holder.host == self.host and holder.pid != self.pid and process_gone(holder.pid):
            return f"process {holder.pid} on this host no longer exists"
        return None

    def acquire(self) -> None:
        """Take the lease or raise LeaseHeld (from `refused`) naming its holder."""
        try:
            with self.db.session() as session:
                now = utcnow()
                # FOR UPDATE serialises two takers on PostgreSQL; on SQLite the session began IMMEDIATE.
                row = session.get(SchedulerLock, self.name, with_for_update=True)
                if row is None:
                    session.add(SchedulerLock(name=self.name, owner=self.owner, host=self.host, pid=self.pid,
                                              acquired_at=now, heartbeat_at=now))
                    session.flush()
                    return
                holder = _holder(row)
                if holder.owner != self.owner:
                    why = self._takeable(holder, now)
                    if why is None:
                        raise self.refused(holder)
                    logger.warning("taking over lease %s of %s: %s", self.name, holder.describe(now), why)
                    row.acquired_at = now
                row.owner, row.host, row.pid, row.heartbeat_at = self.owner, self.host, self.pid, now
        except IntegrityError:
            # Another scheduler inserted the row between our read and our insert.
            holder_now = read_holder(self.db, self.name)
            if holder_now is None:
                raise
            raise self.refused(holder_now) from None

    def beat(self) -> bool:
        """Refresh the heartbeat; False when the lease is no longer ours."""
        with self.db.session() as session:
            result = session.execute(
                update(SchedulerLock)
                .where(SchedulerLock.name == self.name, SchedulerLock.owner == self.owner)
                .values(heartbeat_at=utcnow())
            )
            return bool(getattr(result, "rowcount", 0))

    def start_heartbeat(self, on_lost: Callable[[str], None]) -> None:
        """Beat every `heartbeat_every_s` in a thread; call `on_lost` once if the lease is lost."""

        def loop() -> None:
            last_ok = utcnow()
            while not self._stop.wait(self.heartbeat_every_s):
                try:
                    if self.beat():
                        last_ok = utcnow()
                        continue
                    on_lost("another process took over the lease")
                    return
                except OperationalError as exc:
                    logger.warning("lease %s: heartbeat failed: %s", self.name, str(exc)[:300])
                    if utcnow() - last_ok > self.stale_after:
                        on_lost(f"the database was unreachable for over {self.stale_after}")
                        return

        self._thread = threading.Thread(target=loop, name=f"lease-{self.name}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self.db.session() as session:
            session.execute(delete(SchedulerLock).where(SchedulerLock.name == self.name,
                                                        SchedulerLock.owner == self.owner))


class SchedulerLease(Lease):
    """The one scheduler allowed to run on a database."""

    def __init__(self, db: Database, *, stale_after: timedelta = STALE_AFTER,
                 heartbeat_every_s: float = HEARTBEAT_EVERY_S):
        super().__init__(db, name=LEASE_NAME, stale_after=stale_after, heartbeat_every_s=heartbeat_every_s)

    def refused(self, holder: LeaseHolder) -> LeaseHeld:
        return SchedulerLocked(holder, self.stale_after)


def crawl_lease_name(marketplace: str, slot: int = 0) -> str:
    """The lease of one marketplace's crawls (of its shard slot `slot`: core/shards.py; slot 0 is also a whole
    crawl's); a name past the column's 40 characters keeps a digest of the rest."""
    name = f"crawl:{marketplace}" + (f"#{slot}" if slot else "")
    if len(name) <= 40:
        return name
    return f"{name[:27]}~{hashlib.sha256((name if slot else marketplace).encode()).hexdigest()[:12]}"


class CrawlLease(Lease):
    """The one crawl of a marketplace allowed at a time, across processes and hosts."""

    def __init__(self, db: Database, marketplace: str, *, slot: int = 0, stale_after: timedelta = STALE_AFTER,
                 heartbeat_every_s: float = HEARTBEAT_EVERY_S):
        super().__init__(db, name=crawl_lease_name(marketplace, slot), stale_after=stale_after,
                         heartbeat_every_s=heartbeat_every_s)
        self.marketplace = marketplace

    def refused(self, holder: LeaseHolder) -> LeaseHeld:
        return CrawlAlreadyRunning(self.marketplace, holder, self.stale_after)
