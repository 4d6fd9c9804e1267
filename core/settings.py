"""The one typed settings object of a process. Only this module reads the environment."""

from __future__ import annotations

import ipaddress
import shutil
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

DEFAULT_DB_URL = "sqlite:///brandpatrol.db"


class SsoRoleGrant(BaseModel):
    """One entry of the single sign-on role map: members of `group` get `role`, on `brand` or on every brand."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group: str = Field(min_length=1, max_length=200, description="a value of the roles claim (a group name)")
    role: str = Field(min_length=1, max_length=20, description="analyst, legal or admin")
    brand: str | None = Field(None, min_length=1, max_length=200, description="the brand the role holds on")


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _url_problem(name: str, url: str) -> str | None:
    """An identity provider's URL must be https (plain http only to this machine, as in tests)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{name} {url!r} is not a URL; give the provider's https:// address"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return None
    return (f"{name} {url!r} is not an https:// URL; tokens and signing keys must not travel in clear "
            "(plain http is accepted only to 127.0.0.1 / localhost)")


class Settings(BaseSettings):
    """Process-wide settings, from `BRANDPATROL_*` environment variables or explicit CLI flags."""

    model_config = SettingsConfigDict(env_prefix="BRANDPATROL_", extra="ignore")

    db: str = Field(DEFAULT_DB_URL, description="SQLAlchemy URL of the database.")
    config: Path | None = Field(None, description="Path of the brand configuration (brandpatrol.yaml).")
    brand: str | None = Field(
        None, description="The brand a command works for: one of a configuration listing several, and the only brand "
                          "whose findings, notices and sellers it reads (the CLI's --brand).")
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
    # The review desk (dashboard/views/queue.py): one decision for a whole group of findings.
    bulk_review_max: int = Field(
        200, ge=1, description="a group decision over this many findings asks to be confirmed a second time")

    # Single sign-on (dashboard/sso.py): OIDC through Streamlit's st.login; database accounts keep working beside it.
    sso_issuer: str | None = Field(
        None, description="OIDC issuer of the identity provider (its iss claim); empty: no single sign-on")
    sso_metadata_url: str | None = Field(
        None, description="the provider's discovery document; empty: <issuer>/.well-known/openid-configuration")
    sso_client_id: str = Field("", max_length=500, description="this dashboard's client id at the provider")
    sso_client_secret: SecretStr = Field(SecretStr(""), description="its client secret (never logged)")
    sso_cookie_secret: SecretStr = Field(
        SecretStr(""), description="signs the sign-in cookie; empty: a new random one per dashboard start "
        "(everyone signs in again after a restart)")
    sso_redirect_uri: str | None = Field(
        None, description="the dashboard's /oauth2callback address as the browser reaches it; empty: "
        "http://<host>:<port>/oauth2callback of `brandpatrol dashboard`")
    sso_label: str = Field("single sign-on", max_length=100, description="the provider's name on the button")
    sso_scope: str = Field("openid email profile", min_length=6, max_length=300,
                           description="scopes asked for; add the one that puts groups in the id_token (e.g. groups)")
    sso_username_claim: str = Field("email", min_length=1, max_length=100,
                                    description="the claim that names the person in reviews and the audit log")
    sso_roles_claim: str = Field("groups", min_length=1, max_length=100,
                                 description="the claim listing the person's groups (or roles)")
    sso_session_hours: float = Field(
        12, gt=0, le=24 * 30, description="a sign-in older than this is refused until the person signs in again, so "
        "groups removed at the provider stop counting (Streamlit's sign-in cookie itself lasts 30 days)")
    sso_roles: tuple[SsoRoleGrant, ...] = Field(
        (), description='JSON list: [{"group": "acme-legal", "role": "legal", "brand": "acme"}]; the first entry '
        "matching one of the person's groups decides the role on a brand; no brand: every brand")

    @property
    def sso_enabled(self) -> bool:
        return bool(self.sso_issuer)

    def sso_discovery_url(self) -> str:
        issuer = (self.sso_issuer or "").rstrip("/")
        return self.sso_metadata_url or f"{issuer}/.well-known/openid-configuration"

    def sso_problems(self) -> list[str]:
        """What stops single sign-on as configured, each with its fix; empty when it is off or complete."""
        if not self.sso_enabled:
            return []
        found = [p for p in (_url_problem("BRANDPATROL_SSO_ISSUER", self.sso_issuer or ""),
                             _url_problem("BRANDPATROL_SSO_METADATA_URL", self.sso_discovery_url())) if p]
        if not self.sso_client_id:
            found.append("BRANDPATROL_SSO_CLIENT_ID is empty; give the client id the identity provider issued")
        if not self.sso_client_secret.get_secret_value():
            found.append("BRANDPATROL_SSO_CLIENT_SECRET is empty; give the client secret the provider issued")
        if not self.sso_roles:
            found.append('BRANDPATROL_SSO_ROLES is empty, so nobody could sign in; map groups to roles, e.g. '
                         '[{"group": "brand-legal", "role": "legal"}]')
        return found

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


SETTINGS_ERRORS = (ValidationError, SettingsError)


def describe_settings_error(exc: Exception) -> str:
    """A settings error as 'BRANDPATROL_FIELD: problem' lines, never quoting the value (it may be a secret)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"BRANDPATROL_{str(e['loc'][0]).upper()}"
            f"{''.join(f'[{p}]' for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
    return str(exc).replace('"', "'")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
