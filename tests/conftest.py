"""Shared fixtures: real SQLite databases in temporary folders, the shared real-page fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db import Database
from core.settings import get_settings

REPO = Path(__file__).resolve().parent.parent
SHARED_PAGES = REPO.parent / "shared" / "fixtures" / "pages"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow (real OCR on many photos)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: real OCR on several photos; run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test reads the environment afresh (tests set BRANDPATROL_* variables)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    yield database
    database.dispose()


@pytest.fixture
def shared_pages() -> Path:
    if not SHARED_PAGES.is_dir():
        pytest.skip(f"real marketplace pages not found at {SHARED_PAGES} (shared/ sits beside the repository)")
    return SHARED_PAGES


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    from tests.postgres import postgres_server

    try:
        with postgres_server() as url:
            yield url
    except FileNotFoundError as exc:
        pytest.skip(f"{exc}; tools/install-system-packages.sh installs it")


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> str:
    from tests.postgres import fresh_database

    return fresh_database(postgres_admin_url)
