"""Engines, sessions and migrations. SQLite runs in WAL mode with a busy timeout; any SQLAlchemy URL works."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from core.scope import BrandScope

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseError(RuntimeError):
    """A database URL or database that cannot be used, with what to do about it."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock at BEGIN so two of them queue on busy_timeout instead of failing on lock upgrade;
    # readers begin deferred so a crawl's write batch never blocks the dashboard (WAL readers need no lock).
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"'{url}' is not a database URL; use e.g. sqlite:///brandpatrol.db or "
            "postgresql+psycopg://user:pass@127.0.0.1/brandpatrol"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise DatabaseError(f"folder {parent} for the SQLite database does not exist; create it first")
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so BEGIN IMMEDIATE takes effect.
        event.listen(engine, "connect", lambda c, _r: setattr(c, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema. Safe to call at every start."""
    cfg = alembic_config(engine)
    command.upgrade(cfg, "head")


class Database:
    """One engine and session factory per process, migrated on open.

    `scope` names the brands this handle's queries may see (core/scope.py): every brand for the process's own
    handle (matching, crawls, the scheduler's install-wide work); the dashboard and the CLI read through
    `scoped()` copies narrowed to a user's or a command's brands.
    """

    scope: BrandScope = BrandScope.all_brands()

    def scoped(self, scope: BrandScope) -> Database:
        """This database seen by `scope` (the same engine and sessions)."""
        clone = copy.copy(self)
        clone.scope = scope
        return clone

    def __init__(self, url: str, *, migrate_schema: bool = True, **engine_kwargs: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        if migrate_schema:
            migrate(self.engine)
        self.sessions = sessionmaker(self.engine.execution_options(immediate=True), expire_on_commit=False)
        self.read_sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work that writes: committed on success, rolled back on any error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A short read-only transaction (never takes SQLite's write lock)."""
        # Closing (not rolling back) ends the transaction and keeps loaded objects readable when detached.
        with self.read_sessions() as session:
            yield session

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    def dispose(self) -> None:
        self.engine.dispose()
