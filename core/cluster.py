"""The team-mode work queue as the status report sees it: jobs waiting, running (on which worker, since when) and
parked (why), and workers that stopped answering. Read from procrastinate's tables (its documented schema:
procrastinate_jobs, procrastinate_events, procrastinate_workers) and our job_run rows, which say the host, pid and
error of each attempt. On SQLite, or before any worker created the queue, there is no cluster to report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select, text

from core.db import Database
from core.models import JobRun, as_utc

TEAM_JOB_PREFIX = "team:"  # job_run.job_id of a queued job's attempt: team:<procrastinate job id>:<what>
STALLED_AFTER_S = 30.0  # procrastinate's default stalled_worker_timeout
LIST_LIMIT = 50


@dataclass(frozen=True)
class QueuedJob:
    id: int
    task: str
    what: str  # its arguments in words (marketplace and shard, number of listings)
    status: str
    attempts: int
    worker: str | None = None  # "worker 3 (host pid 123)" for a running job
    since: datetime | None = None
    why: str | None = None  # a parked job's last error


@dataclass
class ClusterStatus:
    waiting: list[QueuedJob] = field(default_factory=list)
    running: list[QueuedJob] = field(default_factory=list)
    failed: list[QueuedJob] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)  # id, last_heartbeat, stalled
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def stalled_workers(self) -> list[dict[str, Any]]:
        return [w for w in self.workers if w["stalled"]]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stalled_workers": self.stalled_workers}


def has_queue(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql" and inspect(db.engine).has_table("procrastinate_jobs")


def describe_args(task: str, args: dict[str, Any]) -> str:
    if "shard" in args:
        return f"{args.get('marketplace')} {args['shard']}"
    if "listing_ids" in args:
        return f"{len(args['listing_ids'])} listings"
    return task.rsplit(":", 1)[-1]


_JOBS = text("""
    SELECT j.id, j.task_name, j.status::text AS status, j.attempts, j.args, j.worker_id,
           (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'started') AS started,
           (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS changed
      FROM procrastinate_jobs j
     WHERE j.status = :status
     ORDER BY j.id DESC
     LIMIT :limit
""")


def _attempts(db: Database, job_ids: list[int]) -> dict[int, JobRun]:
    """The newest job_run row of each queued job: where it ran and how it ended."""
    if not job_ids:
        return {}
    wanted = {f"{TEAM_JOB_PREFIX}{i}:" for i in job_ids}
    newest: dict[int, JobRun] = {}
    with db.read() as session:
        rows = session.scalars(select(JobRun).where(JobRun.job_id.like(f"{TEAM_JOB_PREFIX}%"))
                               .order_by(JobRun.id.desc()).limit(20 * len(job_ids)))
        for row in rows:
            key = row.job_id[:row.job_id.find(":", len(TEAM_JOB_PREFIX)) + 1]
            if key in wanted:
                newest.setdefault(int(key[len(TEAM_JOB_PREFIX):-1]), row)
    return newest


def cluster_status(db: Database, stalled_after_s: float = STALLED_AFTER_S,
                   limit: int = LIST_LIMIT) -> ClusterStatus | None:
    """The queue's state, or None where there is no queue (SQLite, or no worker ever started)."""
    if not has_queue(db):
        return None
    status = ClusterStatus()
    with db.engine.connect() as conn:
        status.counts = {str(row[0]): int(row[1]) for row in conn.execute(text(
            "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"))}
        for row in conn.execute(text(
                "SELECT id, last_heartbeat, last_heartbeat < now() - make_interval(secs => :s) AS stalled "
                "FROM procrastinate_workers ORDER BY id"), {"s": stalled_after_s}).mappings():
            status.workers.append({"id": int(row["id"]), "last_heartbeat": as_utc(row["last_heartbeat"]),
                                   "stalled": bool(row["stalled"])})
        fetched = {state: list(conn.execute(_JOBS, {"status": state, "limit": limit}).mappings())
                   for state in ("todo", "doing", "failed")}
    attempts = _attempts(db, [int(r["id"]) for rows in fetched.values() for r in rows])
    for state, rows in fetched.items():
        for row in rows:
            attempt = attempts.get(int(row["id"]))
            where = (attempt.detail or {}).get("where") if attempt is not None else None
            job = QueuedJob(
                id=int(row["id"]), task=str(row["task_name"]).rsplit(":", 1)[-1],
                what=describe_args(str(row["task_name"]), dict(row["args"] or {})), status=state,
                attempts=int(row["attempts"]),
                worker=(f"worker {row['worker_id']}" + (f" ({where})" if where else ""))
                if row["worker_id"] is not None else None,
                since=as_utc(row["started"] if state == "doing" else row["changed"]) if row["changed"] else None,
                why=attempt.summary if attempt is not None and state == "failed" else None,
            )
            {"todo": status.waiting, "doing": status.running, "failed": status.failed}[state].append(job)
    return status


def work_left(db: Database, except_job: int) -> bool:
    """Whether crawl, match or network jobs other than `except_job` are waiting or running (the night goes on)."""
    with db.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing') AND id <> :job "
            "AND task_name IN ('brandpatrol:crawl_shard', 'brandpatrol:match_listings', "
            "'brandpatrol:settle_networks'))"), {"job": except_job}).scalar())


def format_cluster(status: ClusterStatus, when: Any) -> list[str]:
    """Lines for `brandpatrol status`; `when` formats a time in the report's zone."""
    counts = ", ".join(f"{n} {s}" for s, n in sorted(status.counts.items())) or "no jobs"
    lines = ["", f"work queue: {counts}; {len(status.workers)} workers"]
    for job in status.running:
        lines.append(f"  running: #{job.id} {job.task} {job.what} on {job.worker or '?'} since {when(job.since)}"
                     f" (attempt {job.attempts + 1})")
    for job in status.waiting[:10]:
        lines.append(f"  waiting: #{job.id} {job.task} {job.what}" + (f" (attempt {job.attempts + 1})"
                                                                      if job.attempts else ""))
    for job in status.failed[:10]:
        lines.append(f"  failed: #{job.id} {job.task} {job.what} after {job.attempts} attempts: {job.why or '?'}")
    for worker in status.stalled_workers:
        lines.append(f"  STALLED: worker {worker['id']}, last heartbeat {when(worker['last_heartbeat'])}")
    return lines
