"""Dashboard accounts: scrypt-hashed passwords in `app_user`, roles, and sign-in with failures audited and limited.

No Streamlit here: the sign-in page (dashboard/auth.py) and the CLI (`brandpatrol user ...`) share these functions.
Passwords are never stored, logged or audited in clear; only `scrypt$n$r$p$salt$hash` reaches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import Database
from core.models import AuditLog, User
from core.text import NAME_MAX, clean_line

USERNAME_MAX = 100
PASSWORD_MIN = 10
PASSWORD_MAX = 1024  # bounded input: scrypt over megabytes of "password" is a cheap denial of service
LANGUAGES = ("en", "zh")
# After this many failed sign-ins for one username within the window, further attempts are refused unchecked.
FAILURE_LIMIT = 5
FAILURE_WINDOW = timedelta(minutes=15)
# scrypt cost: 16 MiB and ~50 ms per check on a laptop core (OWASP's minimum is N=2^17 r=8 p=1 at 128 MiB;
# a dashboard on a shared 2-core host takes the lower cost, stored per hash so it can be raised later).
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_MAXMEM = 64 * 1024 * 1024


class Role(StrEnum):
    ANALYST = "analyst"
    LEGAL = "legal"
    ADMIN = "admin"


class AccountError(ValueError):
    """A bad username, role, password or language; the message names the thing and the fix."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    language: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the account, or why not (said the same way for unknown user and bad
    password, so the form does not reveal which usernames exist)."""

    account: Account | None
    locked: bool = False


def hash_password(password: str) -> str:
    _check_password(password)
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when the password matches the stored hash; False for any malformed hash or oversized input."""
    if len(password) > PASSWORD_MAX:
        return False
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r),
                                p=int(p), maxmem=_MAXMEM)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(digest, bytes.fromhex(digest_hex))


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def _check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"the password is shorter than {PASSWORD_MIN} characters; choose a longer one")
    if len(password) > PASSWORD_MAX:
        raise AccountError(f"the password is longer than {PASSWORD_MAX} characters; choose a shorter one")


def _check_username(username: str) -> str:
    name = clean_line(username, USERNAME_MAX)
    if not name or name != username.strip() or any(c.isspace() for c in name):
        raise AccountError(f"{username!r} is not a usable username; use letters, digits, '.', '-' or '_' "
                           f"without spaces (at most {USERNAME_MAX} characters)")
    return name


def _check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"{role!r} is not a role; use one of {', '.join(r.value for r in Role)}") from None


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise AccountError(f"{language!r} is not a dashboard language; use one of {', '.join(LANGUAGES)}")
    return language


def _account(user: User) -> Account:
    return Account(user.id, user.username, user.role, user.language, user.active, user.created_at)


def _audit(s: Session, actor: str, action: str, username: str, **detail: object) -> None:
    s.add(AuditLog(actor=clean_line(actor, NAME_MAX) or "?", action=action, object_type="user",
                   object_id=username[:60], detail=detail))


def add_user(db: Database, username: str, role: str, password: str, *, language: str = "en",
             actor: str = "cli", replace: bool = False) -> Account:
    """Create an account (or, with replace=True, reset an existing one's password, role and activity)."""
    name = _check_username(username)
    checked_role = _check_role(role)
    check_language(language)
    hashed = hash_password(password)
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == name))
        if user is not None and not replace:
            raise AccountError(f"the user {name!r} exists already; pick another username or disable that one")
        if user is None:
            user = User(username=name, password_hash=hashed, role=checked_role.value, language=language, active=True)
            s.add(user)
            _audit(s, actor, "user.add", name, role=checked_role.value)
        else:
            user.password_hash, user.role, user.active = hashed, checked_role.value, True
            _audit(s, actor, "user.reset", name, role=checked_role.value)
        s.flush()
        return _account(user)


def list_users(db: Database) -> list[Account]:
    with db.read() as s:
        return [_account(u) for u in s.scalars(select(User).order_by(User.username))]


def get_user(db: Database, user_id: int) -> Account | None:
    with db.read() as s:
        user = s.get(User, user_id)
        return _account(user) if user is not None else None


def is_account(db: Database, username: str) -> bool:
    """Whether a database account has this name (single sign-on never acts under one, see dashboard/sso.py)."""
    with db.read() as s:
        return s.scalar(select(User.id).where(User.username == username)) is not None


def audit_sign_in(db: Database, username: str, action: str, **detail: object) -> None:
    """An audit row for a sign-in that did not go through `sign_in` (single sign-on)."""
    with db.session() as s:
        _audit(s, username, action, username, **detail)


def set_active(db: Database, username: str, active: bool, *, actor: str) -> Account:
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise AccountError(f"there is no user {username!r}; `brandpatrol user list` shows the accounts")
        user.active = active
        _audit(s, actor, "user.enable" if active else "user.disable", user.username)
        s.flush()
        return _account(user)


def set_role(db: Database, username: str, role: str, *, actor: str) -> Account:
    checked = _check_role(role)
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise AccountError(f"there is no user {username!r}")
        before, user.role = user.role, checked.value
        _audit(s, actor, "user.role", user.username, before=before, after=checked.value)
        s.flush()
        return _account(user)


def set_language(db: Database, user_id: int, language: str) -> None:
    check_language(language)
    with db.session() as s:
        user = s.get(User, user_id)
        if user is not None:
            user.language = language


def recent_failures(db: Database, username: str, now: datetime | None = None) -> int:
    since = (now or datetime.now(UTC)) - FAILURE_WINDOW
    with db.read() as s:
        return int(s.scalar(select(func.count(AuditLog.id)).where(
            AuditLog.object_type == "user", AuditLog.object_id == username[:60],
            AuditLog.action.in_(("auth.fail", "auth.locked")), AuditLog.at >= since)) or 0)


def sign_in(db: Database, username: str, password: str) -> SignIn:
    """Check a username and password. Every failure is audited; after FAILURE_LIMIT failures in FAILURE_WINDOW
    the username is refused without checking the password until the window has passed."""
    name = clean_line(username, USERNAME_MAX)
    if recent_failures(db, name) >= FAILURE_LIMIT:
        with db.session() as s:
            _audit(s, name or "?", "auth.locked", name)
        return SignIn(None, locked=True)
    with db.read() as s:
        user = s.scalar(select(User).where(User.username == name))
        account = _account(user) if user is not None else None
        stored = user.password_hash if user is not None else _DUMMY_HASH
    # An unknown user still costs one scrypt, so timing does not tell which usernames exist.
    ok = verify_password(password, stored) and account is not None and account.active
    with db.session() as s:
        if ok and account is not None:
            _audit(s, account.username, "auth.sign_in", account.username)
            return SignIn(account)
        reason = "unknown user" if account is None else ("disabled" if not account.active else "bad password")
        _audit(s, name or "?", "auth.fail", name, reason=reason)
    return SignIn(None)


_DUMMY_HASH = hash_password(secrets.token_urlsafe(24))
