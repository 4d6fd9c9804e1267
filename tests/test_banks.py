"""Banks shared between brands, on two real SQLite databases: export, trust, import, quarantine, accept, match,
revoke; and every refusal (a flipped byte, a wrong key, an unknown key, an expired, unsigned or replayed file)
leaving everything stored exactly as it was."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from brandpatrol.cli import app
from core import banks
from core.banks import BankError, BankPayload, TrustedKey, UnknownPartnerKey
from core.catalogue import sync_catalogue
from core.config import BrandConfig
from core.db import Database
from core.models import Finding, ListingImage, ReviewDecision, Seller, Verdict
from core.settings import get_settings
from dashboard.data.reviews import review
from matching import banks as store
from matching.assess import assess
from matching.run import run_matching
from matching.signals.partner import PartnerBank, PartnerReport
from tests.images import photo
from tests.matching_kit import (
    add_listing,
    brand_dict,
    context_for,
    facts,
    genuine_photo,
    make_config,
    unrelated_photo,
)
from tests.test_migrations import dump, fill, revision_before, upgraded_keeping_rows

runner = CliRunner()
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
PHONE, WECHAT, STREET = "13800138000", "mei2688", "广东省深圳市南山区科技园路1号"


def fake_photo() -> Any:
    """A photo of the fake itself: none of the brands' reference photos."""
    return photo("rocket")


def aurora_dict() -> dict[str, Any]:
    """A second brand, Aurora/欧若拉, with the first one's structure; it authorises seller x-3 on shop."""
    text = json.dumps(brand_dict(), ensure_ascii=False)
    data = json.loads(text.replace("露米娜", "欧若拉").replace("Lumina", "Aurora"))
    data["authorised_sellers"].append({"name": "美妆小铺3", "marketplace": "shop", "seller_id": "x-3",
                                       "regions": ["CN"]})
    return data


@dataclass
class Brand:
    root: Path
    db: Database
    config: BrandConfig
    config_file: Path
    listings: dict[str, int]

    @property
    def key(self) -> Path:
        return self.root / "bank-key.pem"

    def cli(self, *args: str) -> Any:
        result = runner.invoke(app, ["bank", *args, "--config", str(self.config_file), "--db", self.db.url])
        return result

    def verdicts(self) -> dict[str, tuple[Verdict, float, tuple[str, ...], dict[str, Any]]]:
        with self.db.read() as session:
            by_listing = {f.listing_id: f for f in session.scalars(select(Finding))}
        return {name: (by_listing[i].verdict, by_listing[i].score, tuple(by_listing[i].reasons),
                       by_listing[i].signals) for name, i in self.listings.items()}

    def finding(self, name: str) -> int:
        with self.db.read() as session:
            found = session.scalar(select(Finding.id).where(Finding.listing_id == self.listings[name]))
            assert found is not None
            return found


def _brand(root: Path, data: dict[str, Any]) -> tuple[Database, BrandConfig, Path]:
    root.mkdir()
    config = make_config(root, data)
    config_file = root / "brandpatrol.yaml"
    config_file.write_text(json.dumps({**data}, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    db = Database(f"sqlite:///{root / 'brand.db'}")
    assert sync_catalogue(db, config).ok
    return db, config, config_file


def lumina(root: Path) -> Brand:
    """Brand A: confirmed offenders to share, and findings that must not be shared."""
    data = {**brand_dict(), "privacy": {"redact_exports": False}}  # even then no personal data leaves
    db, config, config_file = _brand(root, data)
    listings = {
        "fake": add_listing(db, "shop", "1", "露米娜焕活精华液 高仿", price="136", location=STREET,
                            images=(fake_photo(),)),
        "fake_brand_photo": add_listing(db, "shop", "2", "露米娜水润面霜 高仿 A货", price="100",
                                        images=(genuine_photo("LM-200"),)),
        "diverted": add_listing(db, "shop", "3", "露米娜水润面霜 清仓", price="330", seller=("假货工厂", "q-7")),
        "overridden": add_listing(db, "shop", "4", "露米娜焕活精华液 高仿", price="136", seller=("路人小店", "y-9")),
        # The brand's own distributor selling out of its region: a contract matter, kept between the two.
        "own_distributor": add_listing(db, "shop", "5", "露米娜水润面霜", price="480",
                                       seller=("华南美妆专营店", "south"), location="上海"),
    }
    with db.session() as session:
        seller = session.scalar(select(Seller).where(Seller.seller_key == "x-3"))
        assert seller is not None
        seller.contact, seller.location_text, seller.country = {"phone": PHONE, "wechat": WECHAT}, STREET, "CN"
    run_matching(db, config)
    brand = Brand(root, db, config, config_file, listings)
    assert {k: v[0] for k, v in brand.verdicts().items()} == {
        "fake": Verdict.COUNTERFEIT, "fake_brand_photo": Verdict.COUNTERFEIT, "diverted": Verdict.DIVERSION,
        "overridden": Verdict.COUNTERFEIT, "own_distributor": Verdict.DIVERSION}
    review(db, [brand.finding(n) for n in listings], ReviewDecision.CONFIRMED, "ana")
    review(db, [brand.finding("overridden")], ReviewDecision.DISMISSED, "lee", "a test buy was genuine",
           override=True)
    return brand


def aurora(root: Path) -> Brand:
    """Brand B: listings the partner's report may or may not weigh on."""
    db, config, config_file = _brand(root, aurora_dict())
    listings = {
        "authorised": add_listing(db, "shop", "1", "欧若拉焕活精华液 30ml", price="680", location="广东 深圳"),
        "unrelated": add_listing(db, "shop", "2", "Aurora LED 台灯", price="89", seller=("假货工厂", "q-7"),
                                 images=(unrelated_photo(),)),
        "reported_seller": add_listing(db, "shop", "3", "欧若拉水润面霜 清仓", price="330",
                                       seller=("假货工厂", "q-7")),
        "reported_photo": add_listing(db, "shop", "4", "欧若拉焕活精华液", price="300", seller=("新店", "z-1"),
                                      images=(fake_photo().resize((400, 300)),)),
    }
    run_matching(db, config)
    return Brand(root, db, config, config_file, listings)


@pytest.fixture
def two_brands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("BRANDPATROL_OCR_ENABLED", "false")  # photo text plays no part here
    get_settings.cache_clear()
    a, b = lumina(tmp_path / "lumina"), aurora(tmp_path / "aurora")
    yield a, b
    a.db.dispose()
    b.db.dispose()


def _ok(result: Any) -> str:
    assert result.exit_code == 0, result.output
    return str(result.output)


def _refused(brand: Brand, data: bytes, needle: str) -> BankError:
    """The file is refused with an error containing `needle`, and not one stored row changed."""
    before = dump(brand.db.engine)
    with pytest.raises(BankError, match=needle) as refused:
        store.import_bank(brand.db, brand.config, data, actor="test", max_bytes=1 << 20, now=NOW)
    assert dump(brand.db.engine) == before
    return refused.value


def _forged(payload: BankPayload, key: Ed25519PrivateKey) -> bytes:
    """A well-formed file signed with `key`, whatever key the payload names."""
    body = payload.model_dump(mode="json")
    signature = key.sign(banks.SIGNING_CONTEXT + banks.canonical(body))
    return banks.canonical({"payload": body, "signature": signature.hex()}) + b"\n"


# --- the round trip ---------------------------------------------------------------------------------------------

def test_export_trust_import_quarantine_accept_match_revoke(two_brands: tuple[Brand, Brand]) -> None:
    a, b = two_brands
    out = _ok(runner.invoke(app, ["bank", "keygen", "--key-file", str(a.key)]))
    fingerprint = out.split("fingerprint ")[1].strip()
    assert len(fingerprint) == 64 and oct(a.key.stat().st_mode & 0o777) == "0o600"
    assert a.key.read_text() not in out  # the private key is never printed

    first = a.root / "lumina-1.bank"
    out = _ok(a.cli("export", "--out", str(first), "--key-file", str(a.key)))
    assert "wrote bank file 1" in out and "2 sellers, 1 photos, 0 revocations" in out
    data = first.read_bytes()
    payload = json.loads(data)["payload"]
    sellers = {e["seller_id"]: e for e in payload["entries"] if e["kind"] == "seller"}
    # x-3: two confirmed counterfeits; q-7: a confirmed diversion. Not y-9 (its confirmation was overridden),
    # not the brand's own distributor (a contract matter), not the brand's own photo on the second fake.
    assert sorted(sellers) == ["q-7", "x-3"]
    x3 = sellers["x-3"]
    assert {k: v for k, v in x3.items() if k != "reasons"} == {
        "kind": "seller", "id": banks.seller_entry_id("shop", "x-3"), "marketplace": "shop", "seller_id": "x-3",
        "confirmed": 2, "country": "CN"}
    assert x3["reasons"][0] == "2 confirmed counterfeit" and "text.counterfeit" in x3["reasons"][1]
    assert sellers["q-7"]["confirmed"] == 1 and sellers["q-7"]["reasons"][0] == "1 confirmed diversion"
    [photo_entry] = [e for e in payload["entries"] if e["kind"] == "photo"]
    with a.db.read() as session:
        fake = session.execute(select(ListingImage.phash, ListingImage.dhash)
                               .where(ListingImage.listing_id == a.listings["fake"])).one()
    assert (photo_entry["phash"], photo_entry["dhash"]) == tuple(fake)
    assert photo_entry["confirmed"] == 1 and len(photo_entry["phash"]) == 16 and len(photo_entry["dhash"]) == 16
    assert payload["issuer"] == {"name": "Lumina", "key": fingerprint} and payload["sequence"] == 1
    for personal in (PHONE, WECHAT, STREET, "南山区"):
        assert personal not in data.decode()

    before = b.verdicts()
    out = _ok(b.cli("trust", "Lumina Co", str(a.key) + ".pub"))
    assert fingerprint in out
    out = _ok(b.cli("import", str(first)))
    assert "3 entries, 3 new" in out and "3 in quarantine" in out
    run_matching(b.db, b.config)
    assert b.verdicts() == before, "quarantined entries are not used"

    listed = json.loads(_ok(b.cli("list", "--json", "--status", "quarantined")))
    assert len(listed["entries"]) == 3 and listed["partners"][0]["fingerprint"] == fingerprint
    out = _ok(b.cli("accept", "--all"))
    assert "accepted 3 entries" in out
    run_matching(b.db, b.config)
    after = b.verdicts()
    for name in ("reported_seller", "reported_photo"):
        verdict, score, _, signals = after[name]
        assert verdict == before[name][0] and verdict in (Verdict.COUNTERFEIT, Verdict.DIVERSION)
        assert score > before[name][1], name
        assert signals["partner"]["outcome"] == "match"
    assert "reported by partner Lumina Co (1 confirmed): this seller" in after["reported_seller"][2]
    assert any(r.startswith("reported by partner Lumina Co (1 confirmed): photo 1 (distance ")
               for r in after["reported_photo"][2])
    # The partner reported x-3 and q-7, but Aurora authorises x-3 and q-7's lamp is not Aurora's product:
    # the report is there, and changes nothing.
    for name in ("authorised", "unrelated"):
        assert after[name][:3] == before[name][:3], name
        assert after[name][3]["partner"]["outcome"] == "match"

    # Lumina's reviewer overrides the diversion; the next export revokes q-7, and Aurora withdraws it.
    review(a.db, [a.finding("diverted")], ReviewDecision.DISMISSED, "lee", "authorised after all", override=True)
    second = a.root / "lumina-2.bank"
    out = _ok(a.cli("export", "--out", str(second), "--key-file", str(a.key)))
    assert "wrote bank file 2" in out and "1 sellers, 1 photos, 1 revocations" in out
    assert json.loads(second.read_bytes())["payload"]["revocations"] == [banks.seller_entry_id("shop", "q-7")]
    out = _ok(b.cli("import", str(second)))
    assert "0 new, 2 updated, 1 revoked; 0 in quarantine" in out
    run_matching(b.db, b.config)
    again = b.verdicts()
    assert again["reported_seller"][:3] == before["reported_seller"][:3]
    assert "partner" not in again["reported_seller"][3] or again["reported_seller"][3]["partner"]["outcome"] \
        == "no_match"
    assert again["reported_photo"][:3] == after["reported_photo"][:3]
    statuses = {e["seller_id"] or "photo": e["status"] for e in json.loads(_ok(b.cli("list", "--json")))["entries"]}
    assert statuses == {"x-3": "accepted", "q-7": "revoked", "photo": "accepted"}

    # The old file again: a replay, refused by name, and nothing changes.
    before_replay = dump(b.db.engine)
    result = b.cli("import", str(first))
    assert result.exit_code == 2 and "a replayed old file" in result.output
    assert dump(b.db.engine) == before_replay


# --- refusals ---------------------------------------------------------------------------------------------------

def test_tampered_wrong_key_unknown_expired_unsigned_and_replayed_files_change_nothing(
        two_brands: tuple[Brand, Brand]) -> None:
    a, b = two_brands
    info = banks.generate_key(a.key)
    store.trust_partner(b.db, b.config, "Lumina Co", info.public_file, actor="admin")
    first = a.root / "1.bank"
    second = a.root / "2.bank"
    store.export_bank(a.db, a.config, a.key, first, actor="t", now=NOW - timedelta(days=2))
    store.export_bank(a.db, a.config, a.key, second, actor="t", now=NOW - timedelta(days=1))
    expired = a.root / "old.bank"
    store.export_bank(a.db, a.config, a.key, expired, actor="t", now=NOW - timedelta(days=40), valid_days=30)
    data = first.read_bytes()

    flipped = bytearray(data)
    flipped[data.index(b'"Lumina"') + 4] ^= 0x01  # "Lumhna": still canonical JSON, no longer what was signed
    _refused(b, bytes(flipped), "does not verify")
    payload = BankPayload.model_validate(json.loads(data)["payload"])
    _refused(b, _forged(payload, Ed25519PrivateKey.generate()), "does not verify with the key of partner 'Lumina Co'")
    _refused(b, expired.read_bytes(), "expired on")
    unsigned = banks.canonical({"payload": json.loads(data)["payload"]}) + b"\n"
    _refused(b, unsigned, "not signed")
    stranger = Ed25519PrivateKey.generate()
    strange = replace_issuer(payload, banks.fingerprint(stranger.public_key()))
    unknown = _refused(b, _forged(strange, stranger), f"signed by key {banks.fingerprint(stranger.public_key())}")
    assert isinstance(unknown, UnknownPartnerKey)

    store.import_bank(b.db, b.config, second.read_bytes(), actor="t", max_bytes=1 << 20, now=NOW)
    _refused(b, data, "a replayed old file: partner 'Lumina Co' numbered it 1, and number 2 was already imported")
    _refused(b, second.read_bytes(), "a replayed old file")


def replace_issuer(payload: BankPayload, fingerprint: str) -> BankPayload:
    return payload.model_copy(update={"issuer": banks.Issuer(name="Stranger", key=fingerprint)})


def test_untrusted_key_is_a_clear_cli_error_naming_its_fingerprint(two_brands: tuple[Brand, Brand]) -> None:
    a, b = two_brands
    info = banks.generate_key(a.key)
    bank_file = a.root / "1.bank"
    store.export_bank(a.db, a.config, a.key, bank_file, actor="t")
    before = dump(b.db.engine)
    result = b.cli("import", str(bank_file))
    assert result.exit_code == 2
    assert f"signed by key {info.fingerprint}" in result.output and "bank trust NAME" in result.output
    assert dump(b.db.engine) == before


# --- the file format, without a database ------------------------------------------------------------------------

def _signed_file(key: Ed25519PrivateKey, sequence: int = 5, issued: datetime = NOW) -> bytes:
    payload = BankPayload(
        issuer=banks.Issuer(name="Lumina 露米娜", key=banks.fingerprint(key.public_key())), sequence=sequence,
        issued_at=banks.stamp(issued), expires_at=banks.stamp(issued + timedelta(days=30)),
        entries=[banks.SellerEntry(id=banks.seller_entry_id("shop", "x-3"), marketplace="shop", seller_id="x-3",
                                   confirmed=2, reasons=["2 confirmed counterfeit"], country="CN"),
                 banks.PhotoEntry(id=banks.photo_entry_id("8f3a00ff00ff12ab", "00ff00ff00ff00fe"),
                                  phash="8f3a00ff00ff12ab", dhash="00ff00ff00ff00fe", confirmed=1)],
        revocations=[banks.seller_entry_id("shop", "q-7")])
    return banks.sign_bank_file(payload, key)


def _trusted(key: Ed25519PrivateKey, last: int = 0) -> dict[str, TrustedKey]:
    return {banks.fingerprint(key.public_key()): TrustedKey("Lumina Co", banks.raw_public(key.public_key()), last)}


def test_a_flipped_bit_anywhere_in_the_file_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    data = _signed_file(key)
    trusted = _trusted(key)
    partner, payload = banks.verify_bank_file(data, trusted, now=NOW, max_bytes=1 << 20)
    assert partner.name == "Lumina Co" and payload.sequence == 5 and len(payload.entries) == 2
    accepted = []
    for position in range(len(data)):
        for mask in (0x01, 0x20, 0x80):  # 0x20 turns a-f into A-F: the same signature bytes, another file
            flipped = bytearray(data)
            flipped[position] ^= mask
            try:
                banks.verify_bank_file(bytes(flipped), trusted, now=NOW, max_bytes=1 << 20)
            except BankError:
                continue
            accepted.append((position, mask))
    assert accepted == [], f"{len(accepted)} altered files passed, e.g. at byte {accepted[:3]}"


def test_canonical_form_refuses_floats_and_sorts_keys() -> None:
    assert banks.canonical({"b": 1, "a": ["露", None]}) == '{"a":["露",null],"b":1}'.encode()
    with pytest.raises(TypeError, match="no floats"):
        banks.canonical({"score": 0.5})
    key = Ed25519PrivateKey.generate()
    body = json.loads(_signed_file(key))["payload"]
    body["entries"][0]["confirmed"] = 2.0
    with pytest.raises(BankError, match="float"):
        banks.verify_bank_file(json.dumps({"payload": body, "signature": "0" * 128}).encode(), _trusted(key),
                               now=NOW, max_bytes=1 << 20)


def test_a_signed_entry_whose_id_is_not_its_own_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    body = json.loads(_signed_file(key))["payload"]
    body["entries"][0]["seller_id"] = "x-4"  # the id still says x-3: it would overwrite x-3's entry
    signature = key.sign(banks.SIGNING_CONTEXT + banks.canonical(body)).hex()
    data = banks.canonical({"payload": body, "signature": signature}) + b"\n"
    with pytest.raises(BankError, match="is not the id of seller x-4 on shop"):
        banks.verify_bank_file(data, _trusted(key), now=NOW, max_bytes=1 << 20)


def test_expiry_future_issue_replay_and_size_are_checked() -> None:
    key = Ed25519PrivateKey.generate()
    data = _signed_file(key)
    assert banks.verify_bank_file(data, _trusted(key), now=NOW + timedelta(days=29), max_bytes=1 << 20)
    with pytest.raises(BankError, match="expired on"):
        banks.verify_bank_file(data, _trusted(key), now=NOW + timedelta(days=30), max_bytes=1 << 20)
    with pytest.raises(BankError, match="in the future"):
        banks.verify_bank_file(data, _trusted(key), now=NOW - timedelta(hours=1), max_bytes=1 << 20)
    with pytest.raises(BankError, match="a replayed old file"):
        banks.verify_bank_file(data, _trusted(key, last=5), now=NOW, max_bytes=1 << 20)
    with pytest.raises(BankError, match="over the limit"):
        banks.verify_bank_file(data, _trusted(key), now=NOW, max_bytes=len(data) - 1)


def test_signing_key_is_private_and_never_overwritten(tmp_path: Path) -> None:
    key_file = tmp_path / "bank-key.pem"
    info = banks.generate_key(key_file)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert banks.fingerprint(banks.load_signing_key(key_file).public_key()) == info.fingerprint
    assert banks.fingerprint(banks.read_public_key(info.public_file)) == info.fingerprint
    with pytest.raises(BankError, match="already exists"):
        banks.generate_key(key_file)
    os.chmod(key_file, 0o644)
    with pytest.raises(BankError, match="chmod 600") as refused:
        banks.load_signing_key(key_file)
    assert "PRIVATE KEY" not in str(refused.value)
    with pytest.raises(BankError, match="not an Ed25519 public key"):
        banks.read_public_key(key_file)  # a private key handed over by mistake


# --- the signal never decides alone -----------------------------------------------------------------------------

def test_a_partner_report_raises_a_suspect_score_and_never_decides_a_verdict(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    plain = context_for(config)
    everyone = ("official", "x-3", "q-7")
    reported = replace(plain, partner_bank=PartnerBank(tuple(
        PartnerReport("Aurora", banks.seller_entry_id("shop", s), "seller", 4, "shop", s) for s in everyone)))
    cases = {
        "ok": facts("露米娜焕活精华液 30ml", seller=("露米娜官方旗舰店", "official"), location="上海"),
        "unrelated": facts("Lumina LED 台灯", price="89", seller=("美妆小铺3", "x-3")),
        "diversion": facts("露米娜水润面霜 清仓", price="330", seller=("假货工厂", "q-7")),
        "counterfeit": facts("露米娜焕活精华液 高仿", price="136", seller=("美妆小铺3", "x-3")),
    }
    for name, listing in cases.items():
        without, withit = assess(listing, plain), assess(listing, reported)
        assert without.signals.partner is None
        assert withit.signals.partner is not None and withit.signals.partner.matched, name
        assert withit.verdict.verdict == without.verdict.verdict, name
        if name in ("ok", "unrelated"):
            assert withit.verdict.verdict == Verdict(name)
            assert (withit.verdict.score, withit.verdict.reasons) == (without.verdict.score, without.verdict.reasons)
        else:
            assert withit.verdict.score > without.verdict.score, name
            assert "reported by partner Aurora (4 confirmed): this seller" in withit.verdict.reasons


def test_a_partner_photo_matches_within_the_image_threshold_only(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    listing = facts("露米娜焕活精华液", price="300", seller=("新店", "z-1"), images=(fake_photo(),))
    image = listing.images[0]
    assert image.phash is not None and image.dhash is not None
    threshold = config.thresholds.image_distance

    def bank_at(bits: int) -> PartnerBank:
        flip = (1 << bits) - 1  # the lowest `bits` bits differ
        phash = f"{int(image.phash, 16) ^ flip:016x}"
        return PartnerBank((PartnerReport("Aurora", banks.photo_entry_id(phash, image.dhash), "photo", 2,
                                          phash=phash, dhash=image.dhash),))

    ctx = context_for(config)
    near = assess(listing, replace(ctx, partner_bank=bank_at(threshold))).signals.partner
    far = assess(listing, replace(ctx, partner_bank=bank_at(threshold + 1))).signals.partner
    assert near is not None and near.matched and near.measure == threshold
    assert far is not None and far.unmatched


# --- the schema -------------------------------------------------------------------------------------------------

def test_migration_0007_keeps_every_row_and_downgrades(tmp_path: Path) -> None:
    engine, cfg, before = upgraded_keeping_rows(tmp_path, "0007")
    previous = revision_before("0007")
    assert {"partner", "bank_import", "bank_entry", "bank_export"} <= set(inspect(engine).get_table_names())
    fill(engine, {
        "partner": [{"id": 1, "brand_id": 1, "name": "Aurora", "fingerprint": "a" * 64, "public_key": "b" * 64,
                     "last_sequence": 3, "trusted_by": "admin", "trusted_at": NOW}],
        "bank_import": [{"id": 1, "partner_id": 1, "sequence": 3, "issuer_name": "Aurora", "issued_at": NOW,
                         "expires_at": NOW, "file_sha256": "c" * 64, "entries": 1, "added": 1, "revoked": 0,
                         "imported_by": "admin", "imported_at": NOW}],
        "bank_entry": [{"id": 1, "partner_id": 1, "entry_id": "s-" + "d" * 32, "kind": "seller",
                        "marketplace": "shop", "seller_id": "x-3", "confirmed": 2, "reasons": [],
                        "status": "quarantined", "import_id": 1}],
    })

    command.downgrade(cfg, previous)
    assert dump(engine) == before
    engine.dispose()
