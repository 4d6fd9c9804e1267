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


# The files whose tests run a whole crawl, browser or demo (tens of seconds each) go first: run in parallel
# (make test), a long test started last would leave the other workers idle at the end.
LONG_FILES = ("test_demo_end_to_end.py", "test_demo_heldout.py", "test_crawl_demo.py", "test_crawl_browser_faults.py",
              "test_crawl_kill.py", "test_postgres.py", "test_crawl_blocked.py", "test_dashboard_browser.py",
              "test_crawl_browser_egress.py", "test_crawl_resume.py", "test_scheduler.py",
              "test_crawl_network_faults.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))  # stable: each file keeps its order
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
