"""What every `brandpatrol` command shares: its common options and the settings they make."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.config import ConfigError
from core.settings import Settings, get_settings

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="brandpatrol.yaml (or BRANDPATROL_CONFIG)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (or BRANDPATROL_DB); default sqlite:///brandpatrol.db")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object")]
ActorOpt = Annotated[str, typer.Option("--actor", help="who is doing this, for the audit log")]
BrandOpt = Annotated[str | None, typer.Option(
    "--brand", "-b", help="the brand to work for (or BRANDPATROL_BRAND): one of a configuration listing several, "
                          "and the only brand whose findings, notices and sellers the command reads")]


def command_settings(db: str | None = None, config: Path | None = None, brand: str | None = None) -> Settings:
    """The process's settings with what the command line gave instead of the environment."""
    base = get_settings()
    updates: dict[str, object] = {}
    if db:
        updates["db"] = db
    if config:
        updates["config"] = config
    if brand:
        updates["brand"] = brand
    return base.model_copy(update=updates)


def config_path_of(settings: Settings) -> Path:
    """The brand configuration's path, or a clear error when none was given."""
    if settings.config is None:
        raise ConfigError("brandpatrol.yaml", ["no configuration given; pass --config FILE or set BRANDPATROL_CONFIG"])
    return settings.config
