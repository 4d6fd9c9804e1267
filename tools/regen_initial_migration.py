"""Regenerate the initial migration from core/models.py (only while no release has shipped 0001)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from core.db import MIGRATIONS_DIR, alembic_config, make_engine

for old in (MIGRATIONS_DIR / "versions").glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    engine = make_engine(f"sqlite:///{Path(tmp) / 'autogen.db'}")
    command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
    engine.dispose()
