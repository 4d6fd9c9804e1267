"""Alembic environment: migrations run on the engine the application hands over."""

from __future__ import annotations

from typing import Any

from alembic import context

from core.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` command line: build one from the URL
    from core.db import make_engine
    from core.settings import get_settings

    engine = make_engine(config.get_main_option("sqlalchemy.url") or get_settings().db)

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    driver: Any = connection.connection.driver_connection
    if sqlite:
        # Batch migrations rebuild tables that other tables point at (0009: finding, notice); SQLite switches its
        # foreign-key checks only outside a transaction, so off here, and every key checked before the commit.
        driver.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
    finally:
        if sqlite:
            driver.execute("PRAGMA foreign_keys=ON")
