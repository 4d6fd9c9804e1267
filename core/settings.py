"""The one typed settings object of a process. Only this module reads the environment."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_URL = "sqlite:///brandpatrol.db"


class Settings(BaseSettings):
    """Process-wide settings, from `BRANDPATROL_*` environment variables or explicit CLI flags."""

    model_config = SettingsConfigDict(env_prefix="BRANDPATROL_", extra="ignore")

    db: str = Field(DEFAULT_DB_URL, description="SQLAlchemy URL of the database.")
    config: Path | None = Field(None, description="Path of the brand configuration (brandpatrol.yaml).")
    chromium_path: Path | None = Field(
        None,
        description="Chromium executable for Playwright; empty means Playwright's own browser, "
        "else Debian's /usr/bin/chromium when present.",
    )
    data_dir: Path = Field(Path("brandpatrol-data"), description="Working files: crawl job state, logs.")
    log_level: str = "INFO"
    # Untrusted-input bounds; every byte from a marketplace passes one of these.
    image_max_bytes: int = 8 * 1024 * 1024
    image_max_pixels: int = 40_000_000
    fetch_timeout_s: float = 20.0
    page_max_bytes: int = 16 * 1024 * 1024
    crawl_memory_limit_mb: int = Field(
        4096, ge=0,
        description="a crawl whose process and browser together hold more memory (summed RSS) is closed; 0: no limit",
    )
    # Reading the photos (matching/photos): the crawl keeps a bounded reading copy, matching reads it.
    reading_copy_max_side: int = Field(1280, ge=320, le=4096, description="longest side of a photo's reading copy")
    reading_copies_max_mb: int = Field(
        2048, ge=0, description="reading copies kept in all; the oldest go first (0: keep none after reading)")
    ocr_enabled: bool = Field(True, description="read text and codes on listing photos during matching")
    ocr_model_dir: Path | None = Field(
        None, description="folder of the PP-OCR ONNX models; empty: the models the rapidocr wheel ships")
    ocr_max_side: int = Field(960, ge=320, le=4096, description="photos are scaled to this longest side for OCR")
    ocr_run_budget_s: float = Field(
        300.0, ge=0, description="OCR time per matching run; photos past it wait for the next run (0: no limit)")
    image_decode_budget_mb: int = Field(
        0, ge=0,
        description="memory the photo decodes of a crawl may hold at once (a PNG decodes whole); a photo needing more "
        "is refused; 0: half the crawl memory limit, or 1024 without one",
    )

    def decode_budget_bytes(self) -> int:
        if self.image_decode_budget_mb:
            return self.image_decode_budget_mb * 1024 * 1024
        return (self.crawl_memory_limit_mb // 2 or 1024) * 1024 * 1024

    # Partner banks (core/banks.py): this brand's signing key, and the largest bank file taken from a partner.
    bank_key_file: Path | None = Field(
        None, description="Ed25519 key that signs this brand's bank files (mode 0600); empty: data_dir/bank-key.pem")
    bank_max_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="largest partner bank file imported")

    # Team mode (brandpatrol/team.py): workers on PostgreSQL. A worker that has not beaten its heartbeat for
    # worker_stalled_after_s is taken for dead and its job is run again by another worker.
    worker_heartbeat_s: float = Field(10.0, gt=0, le=600, description="how often a worker says it is alive")
    worker_stalled_after_s: float = Field(
        60.0, gt=0, le=3600, description="a worker silent this long is stalled: its job is retried elsewhere")
    worker_poll_s: float = Field(5.0, gt=0, le=600, description="how often an idle worker looks for jobs "
                                 "(it is also woken by PostgreSQL's NOTIFY) and for stalled workers")
    job_retry_wait_s: int = Field(60, ge=0, le=86_400, description="wait before a failed job's next attempt")

    def bank_key_path(self) -> Path:
        return self.bank_key_file or self.data_dir / "bank-key.pem"

    def browser_executable(self) -> Path | None:
        """The Chromium binary Playwright should launch, or None to use Playwright's own download."""
        if self.chromium_path:
            return self.chromium_path
        for name in ("chromium", "chromium-browser", "google-chrome"):
            found = shutil.which(name)
            if found:
                return Path(found)
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
