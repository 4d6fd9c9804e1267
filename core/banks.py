"""Partner bank files: what one brand shares with partner brands about offenders, signed with Ed25519.

A bank file is one line of canonical JSON (keys sorted, no spaces, UTF-8, no floats) and a newline:

    {"payload": {...}, "signature": "<128 hex digits>"}

The signature is Ed25519 over SIGNING_CONTEXT + the payload's canonical bytes. A file is read back only when it is
byte for byte what encoding its own decoded payload and signature gives, so a flipped byte anywhere (a key, a
space, an escape, the signature's hex case, the final newline) is refused before or at the signature check.

The payload names its issuer (a name, the SHA-256 fingerprint of its public key), a sequence number that grows
with every export, when it was issued and until when it may be imported, the entries (offender sellers and
perceptual hashes of photos confirmed counterfeit) and the ids of entries it revokes. Entry ids are stable: the
hash of what identifies the entry (marketplace and seller id, or the two photo hashes), so a later file can revoke
one, and the importer recomputes them.

`verify_bank_file` does every check a file needs (size, form, known key, signature, fields, expiry, replay) as
one pure function; matching/banks.py stores what it returns. Keys live in PEM files: the private key (PKCS#8,
mode 0600, never logged) and its public key beside it (`<key>.pub`), which is what partners are given.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from core.text import clean_line

FORMAT = "brandpatrol-bank/1"
SIGNING_CONTEXT = b"brandpatrol-bank/1\n"  # signatures made for bank files mean nothing anywhere else
SIGNATURE_HEX = 128
KEY_FILE_MAX_BYTES = 4096
MAX_ENTRIES = 200_000
MAX_VALIDITY = timedelta(days=366)
CLOCK_SKEW = timedelta(minutes=10)  # an issuer's clock this far ahead is tolerated
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SELLER, PHOTO = "seller", "photo"

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Hex16 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
EntryId = Annotated[str, StringConstraints(pattern=r"^[sp]-[0-9a-f]{32}$")]
Stamp = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class BankError(Exception):
    """A bank key or file problem, worded as the problem and then the fix."""


class UnknownPartnerKey(BankError):
    def __init__(self, fingerprint: str, issuer: str) -> None:
        self.fingerprint = fingerprint
        super().__init__(
            f"the file is signed by key {fingerprint} (it says its issuer is '{issuer}'), which is not a trusted "
            "partner key here; check that fingerprint with the partner by another channel, then run "
            "`brandpatrol bank trust NAME THEIR_PUBLIC_KEY_FILE` and import again")


# --- canonical JSON ---------------------------------------------------------------------------------------------

def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 as is; floats (and NaN) are refused so every number has one spelling."""
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("bank files hold no floats: write the number as an integer or a string")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("bank file keys are strings")
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def _no_float(text: str) -> Any:
    raise ValueError(f"a float ({text[:20]}) where bank files have none")


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


# --- entries and payload ----------------------------------------------------------------------------------------

def _entry_id(prefix: str, parts: list[str]) -> str:
    return f"{prefix}-{hashlib.sha256(canonical(parts)).hexdigest()[:32]}"


def seller_entry_id(marketplace: str, seller_id: str) -> str:
    return _entry_id("s", [SELLER, marketplace, seller_id])


def photo_entry_id(phash: str, dhash: str) -> str:
    return _entry_id("p", [PHOTO, phash, dhash])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SellerEntry(_Strict):
    """An offender seller: the marketplace's seller id (or the folded shop name where a page gives no id)."""

    kind: Literal["seller"] = "seller"
    id: EntryId
    marketplace: str = Field(min_length=1, max_length=40)
    seller_id: str = Field(min_length=1, max_length=200)
    confirmed: int = Field(ge=1, le=1_000_000)  # the issuer's findings on this seller whose latest review confirmed
    reasons: list[Reason] = Field(default_factory=list, max_length=20)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")  # where it ships from (ISO 3166), names no one

    @model_validator(mode="after")
    def _stable_id(self) -> SellerEntry:
        if self.id != seller_entry_id(self.marketplace, self.seller_id):
            raise ValueError(f"entry id {self.id} is not the id of seller {self.seller_id} on {self.marketplace}")
        return self


class PhotoEntry(_Strict):
    """A photo confirmed counterfeit, as its 64-bit pHash and dHash (core/images.py), 16 hex digits each."""

    kind: Literal["photo"] = "photo"
    id: EntryId
    phash: Hex16
    dhash: Hex16
    confirmed: int = Field(ge=1, le=1_000_000)
    reasons: list[Reason] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _stable_id(self) -> PhotoEntry:
        if self.id != photo_entry_id(self.phash, self.dhash):
            raise ValueError(f"entry id {self.id} is not the id of photo {self.phash}/{self.dhash}")
        return self


Entry = Annotated[SellerEntry | PhotoEntry, Field(discriminator="kind")]


class Issuer(_Strict):
    name: str = Field(min_length=1, max_length=200)
    key: Hex64  # SHA-256 fingerprint of the raw Ed25519 public key


class BankPayload(_Strict):
    format: Literal["brandpatrol-bank/1"] = "brandpatrol-bank/1"
    issuer: Issuer
    sequence: int = Field(ge=1, le=2**53)
    issued_at: Stamp
    expires_at: Stamp
    entries: list[Entry] = Field(default_factory=list, max_length=MAX_ENTRIES)
    revocations: list[EntryId] = Field(default_factory=list, max_length=MAX_ENTRIES)

    @model_validator(mode="after")
    def _consistent(self) -> BankPayload:
        issued, expires = parse_stamp(self.issued_at), parse_stamp(self.expires_at)
        if not issued < expires <= issued + MAX_VALIDITY:
            raise ValueError("expires_at must fall after issued_at and within 366 days of it")
        ids = [e.id for e in self.entries]
        if len(set(ids)) != len(ids):
            raise ValueError("an entry id appears twice")
        if set(ids) & set(self.revocations):
            raise ValueError("an entry is both shared and revoked")
        return self

    @property
    def issued(self) -> datetime:
        return parse_stamp(self.issued_at)

    @property
    def expires(self) -> datetime:
        return parse_stamp(self.expires_at)


# --- keys -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyInfo:
    key_file: Path
    public_file: Path
    fingerprint: str


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the 32 raw public key bytes, as 64 hex digits: what two brands compare by phone."""
    return hashlib.sha256(raw_public(public)).hexdigest()


def public_file_for(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".pub")


def _public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def generate_key(key_file: Path, *, replace: bool = False) -> KeyInfo:
    """A new signing key in `key_file` (mode 0600) and its public key in `<key_file>.pub`."""
    if key_file.exists() and not replace:
        raise BankError(f"a bank signing key already exists at {key_file}; keep using it, or pass --replace to "
                        "make a new one (every partner must then trust the new public key)")
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_atomically(key_file, pem, mode=0o600)
    public_file = public_file_for(key_file)
    public_file.write_bytes(_public_pem(key.public_key()))
    return KeyInfo(key_file, public_file, fingerprint(key.public_key()))


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """`data` at `path` whole or not at all; the file has `mode` from its first byte (O_EXCL: never through a file
    someone else put there)."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def load_signing_key(key_file: Path) -> Ed25519PrivateKey:
    """The brand's private key; refused when missing, readable by others, or not an Ed25519 key."""
    if not key_file.is_file():
        raise BankError(f"no bank signing key at {key_file}; run `brandpatrol bank keygen` first (or set "
                        "BRANDPATROL_BANK_KEY_FILE to where it is)")
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise BankError(f"the bank signing key {key_file} can be read by other users (mode {mode:04o}); "
                        f"run `chmod 600 {key_file}`")
    data = key_file.read_bytes()[: KEY_FILE_MAX_BYTES + 1]
    try:
        key = serialization.load_pem_private_key(data, password=None) if len(data) <= KEY_FILE_MAX_BYTES else None
    except (ValueError, TypeError):
        key = None  # the library's message could quote the file; the path is enough
    if not isinstance(key, Ed25519PrivateKey):
        raise BankError(f"{key_file} is not an unencrypted Ed25519 private key in PEM; make one with "
                        "`brandpatrol bank keygen --replace`")
    return key


def read_public_key(path: Path) -> Ed25519PublicKey:
    """A partner's public key file (PEM, as `bank keygen` writes beside the private key)."""
    if not path.is_file():
        raise BankError(f"no public key file at {path}; ask the partner for the .pub file `bank keygen` made")
    data = path.read_bytes()[: KEY_FILE_MAX_BYTES + 1]
    try:
        key = serialization.load_pem_public_key(data) if len(data) <= KEY_FILE_MAX_BYTES else None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise BankError(f"{path} is not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----); ask the partner "
                        "for the .pub file `brandpatrol bank keygen` wrote beside their key")
    return key


def public_from_raw(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


# --- writing and reading files ----------------------------------------------------------------------------------

def sign_bank_file(payload: BankPayload, key: Ed25519PrivateKey) -> bytes:
    """The file's bytes: the canonical envelope of the payload and its signature, and a newline."""
    if payload.issuer.key != fingerprint(key.public_key()):
        raise BankError("the payload names another key than the one signing it")
    body = payload.model_dump(mode="json")
    signature = key.sign(SIGNING_CONTEXT + canonical(body))
    return canonical({"payload": body, "signature": signature.hex()}) + b"\n"


@dataclass(frozen=True)
class TrustedKey:
    """A partner as the importer knows it: the name it was trusted under, its key, and the last sequence taken."""

    name: str
    public_key: bytes  # 32 raw bytes
    last_sequence: int = 0


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "payload"
        problems.append(f"{where}: {error['msg']}")
    more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return "; ".join(problems) + more


def _envelope(data: bytes, max_bytes: int) -> tuple[dict[str, Any], bytes]:
    """The decoded envelope of a file in exact canonical form, and the signature's bytes."""
    fix = "ask the partner to send the file again, unchanged, as `brandpatrol bank export` wrote it"
    if len(data) > max_bytes:
        raise BankError(f"the file is {len(data):,} bytes, over the limit of {max_bytes:,} "
                        "(BRANDPATROL_BANK_MAX_BYTES); raise it if the partner's bank is really that large")
    try:
        decoded = json.loads(data.decode("utf-8"), parse_float=_no_float, parse_constant=_no_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BankError(f"the file is not a bank file (not canonical JSON: {str(exc)[:120]}); {fix}") from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("payload"), dict):
        raise BankError(f"the file is not a bank file (no payload); {fix}")
    signature = decoded.get("signature")
    if not signature:
        raise BankError("the file is not signed (it has no signature); refuse it, or ask the partner to export "
                        "it with `brandpatrol bank export`, which signs with their key")
    if not isinstance(signature, str) or not re.fullmatch(r"[0-9a-fA-F]{128}", signature):
        raise BankError(f"the file's signature is not 128 hex digits; {fix}")
    raw = bytes.fromhex(signature)
    if set(decoded) != {"payload", "signature"} or canonical({"payload": decoded["payload"],
                                                              "signature": raw.hex()}) + b"\n" != data:
        raise BankError(f"the file was changed after it was written: it is not in the exact form it was signed "
                        f"in; {fix}")
    return decoded, raw


def verify_bank_file(data: bytes, trusted: Mapping[str, TrustedKey], *, now: datetime,
                     max_bytes: int) -> tuple[TrustedKey, BankPayload]:
    """The partner (by key fingerprint) and the payload of a bank file that passes every check, in this order:
    size and exact canonical form, signed, by a trusted key, the signature verifies, the fields are valid, not
    expired (nor issued in the future), and newer than the last file imported from that partner."""
    decoded, signature = _envelope(data, max_bytes)
    payload_obj = decoded["payload"]
    issuer = payload_obj.get("issuer")
    claimed = issuer.get("key") if isinstance(issuer, dict) else None
    name = issuer.get("name") if isinstance(issuer, dict) else None
    if not isinstance(claimed, str):
        raise BankError("the file does not say which key signed it (payload.issuer.key); it is not a bank file")
    partner = trusted.get(claimed)
    if partner is None:
        raise UnknownPartnerKey(clean_line(claimed, 64), clean_line(name, 200))
    try:
        public_from_raw(partner.public_key).verify(signature, SIGNING_CONTEXT + canonical(payload_obj))
    except InvalidSignature:
        raise BankError(
            f"the signature does not verify with the key of partner '{partner.name}' ({claimed}): the file was "
            "changed after it was signed, or signed with another key; ask the partner for a fresh export, and "
            "if they made a new key, trust its public key again") from None
    try:
        payload = BankPayload.model_validate(payload_obj)
    except ValidationError as exc:
        raise BankError(f"partner '{partner.name}' signed a file this version cannot use: {_describe(exc)}; ask "
                        "them to export again with a current BrandPatrol") from None
    if payload.expires <= now:
        raise BankError(f"the file from partner '{partner.name}' expired on {payload.expires_at} (it is now "
                        f"{stamp(now)}); ask them for a fresh export")
    if payload.issued > now + CLOCK_SKEW:
        raise BankError(f"the file from partner '{partner.name}' says it was issued at {payload.issued_at}, in the "
                        "future; check this machine's clock and theirs, then import again")
    if payload.sequence <= partner.last_sequence:
        raise BankError(
            f"a replayed old file: partner '{partner.name}' numbered it {payload.sequence}, and number "
            f"{partner.last_sequence} was already imported; ask them for their newest export")
    return partner, payload
