"""Alembic environment: migrations run on the engine the application hands over."""

from __future__ import annotations

from alembic import context

from core.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` command line: build one from the URL
    from core.db import make_engine
    from core.settings import get_settings

    engine = make_engine(config.get_main_option("sqlalchemy.url") or get_settings().db)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
