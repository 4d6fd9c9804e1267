"""Exports of a notice read back with real readers: pypdf (and Debian's pdftotext where installed), python-docx,
csv, openpyxl, zipfile; the evidence bundle's manifest re-verified file by file."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from core.models import ReviewDecision, TestBuyResult, Verdict
from core.text import clean_line
from dashboard.data.reviews import review
from dashboard.notices import store, testbuys
from dashboard.notices.exports import ExportError, export_notice
from dashboard.notices.exports.bundle import load_media, write_bundle
from dashboard.notices.model import Ground
from dashboard.notices.registry import template
from tests.dashboard_support import World, png_bytes
from tests.images import jpeg, photo
from tests.notices_support import config, party, set_signals

CHINESE = "露米娜焕活精华液"
FORMULAS = ('=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", " =1", "{=1+1}", 'a";=1+2')


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World.create(tmp_path)


def notice_with_evidence(world: World, tmp_path: Path, *, ground: Ground = Ground.COUNTERFEIT,
                         name: str = "alibaba_ipp", title: str = f"{CHINESE} 30ml 高仿") -> tuple[int, list[str]]:
    verdict = Verdict.DIVERSION if ground is Ground.DIVERSION else Verdict.COUNTERFEIT
    fid = world.add_finding(score=0.93, verdict=verdict, title=title, seller="莆田优品美妆",
                            thumbnail=png_bytes((200, 30, 30), (64, 48)))
    shas = world.add_history(fid, ["129", "99"])
    set_signals(world, fid, **{"text.counterfeit": "match", "seller": "no_match", "price": "match"})
    with world.db.session() as s:  # contact details as a marketplace shows them
        from core.models import Finding, Seller
        finding = s.get(Finding, fid)
        assert finding is not None
        seller = s.get(Seller, finding.listing.seller_id)
        assert seller is not None
        seller.contact = {"phone": "+86 138 0000 0000", "address": "福建省莆田市某路1号"}
    review(world.db, [fid], ReviewDecision.CONFIRMED, "ana")
    testbuys.record_test_buy(
        world.db,
        testbuys.TestBuyEntry(listing_id=world.listing_id(fid), order_number="TB-2026-0042",
                              ordered_on=date(2026, 2, 20), price_paid="99.00", currency="CNY",
                              result=TestBuyResult.COUNTERFEIT, code_read="XX-999",
                              photos=[jpeg(photo("coffee")), jpeg(photo("chelsea"))]),
        actor="ana", authorised_sellers=config(tmp_path).authorised_sellers,
    )
    [nid] = store.draft_notices(world.db, [fid], template=template(name), ground=ground, party=party(tmp_path),
                                actor="lee")
    return nid, shas


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_shows_the_chinese_text_with_the_font_embedded(world: World, tmp_path: Path) -> None:
    nid, _ = notice_with_evidence(world, tmp_path)
    exported = export_notice(world.db, nid, "pdf", redacted=True)
    assert exported.data.startswith(b"%PDF-") and exported.name == f"notice-{nid}-alibaba_ipp.pdf"
    text = compact(pdf_text(exported.data))
    for expected in (CHINESE, "阿里巴巴知识产权保护平台投诉", "露米娜化妆品有限公司", "莆田优品美妆", "TB-2026-0042",
                     "Annex B: test-buy report", "CNregistrationno.12345678"):
        assert compact(expected) in text, expected
    reader = PdfReader(io.BytesIO(exported.data))
    fonts = [f.get_object() for page in reader.pages for f in page["/Resources"]["/Font"].values()]
    descriptors = [f["/DescendantFonts"][0].get_object()["/FontDescriptor"] for f in fonts]
    assert descriptors and all("/FontFile3" in d or "/FontFile2" in d for d in descriptors)  # embedded
    assert all("NotoSansCJK" in str(f["/BaseFont"]) for f in fonts)
    assert not any("/URI" in str(a.get_object()) for p in reader.pages for a in p.get("/Annots") or [])  # no links
    assert len(reader.pages[-1].images) >= 1 or any(len(p.images) for p in reader.pages)  # the test-buy photos
    if shutil.which("pdftotext"):  # Debian's poppler, where installed, reads it the same way
        out = subprocess.run(["pdftotext", "-", "-"], input=exported.data, capture_output=True, check=True).stdout
        assert CHINESE in out.decode("utf-8")


def test_docx_opens_in_python_docx_with_text_table_and_photos(world: World, tmp_path: Path) -> None:
    nid, _ = notice_with_evidence(world, tmp_path)
    exported = export_notice(world.db, nid, "docx", redacted=True)
    document = Document(io.BytesIO(exported.data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert CHINESE in text and "TB-2026-0042" in text and "Before filing" not in text  # no warnings here
    [table] = document.tables
    header = [c.text for c in table.rows[0].cells]
    assert header[:3] == ["#", "Item ID", "Seller"] and "Seller contact" not in header  # redacted
    assert table.rows[1].cells[2].text == "莆田优品美妆 (S1)"
    assert len(document.inline_shapes) == 2  # the two test-buy photos


def test_csv_and_xlsx_bulk_forms_are_formula_safe(world: World, tmp_path: Path) -> None:
    ids = []
    for payload in FORMULAS:
        fid = world.add_finding(score=0.9, title=payload, seller=payload)
        set_signals(world, fid, **{"text.counterfeit": "match"})
        ids.append(fid)
    review(world.db, ids, ReviewDecision.CONFIRMED, "ana")
    [nid] = store.draft_notices(world.db, ids, template=template("dsa_art16"), ground=Ground.COUNTERFEIT,
                                party=party(tmp_path), actor="lee")

    data = export_notice(world.db, nid, "csv", redacted=True).data
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    # titles were cleaned when drafted (tab and CR folded away); whatever is left still opens as text
    expected = ["'" + clean_line(p) for p in FORMULAS]
    assert [r["Title"] for r in rows] == expected
    assert [r["Seller"] for r in rows] == expected
    assert {r["Price"] for r in rows} == {"99.0000"}

    book = load_workbook(io.BytesIO(export_notice(world.db, nid, "xlsx", redacted=True).data))
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    title, seller, price = header.index("Title"), header.index("Seller"), header.index("Price")
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert not [c for c in cells if c.data_type == "f"]  # nothing opens as a formula
    body = list(sheet.iter_rows(min_row=2))
    assert [r[title].value for r in body] == expected
    assert all(r[seller].data_type == "s" for r in body)
    assert all(r[price].data_type == "n" and r[price].value == 99 for r in body)  # real prices stay numbers


def test_ebay_bulk_form_uses_vero_api_fields(world: World, tmp_path: Path) -> None:
    fid = world.add_finding(score=0.9, verdict=Verdict.DIVERSION, market="ebay")
    set_signals(world, fid, seller="no_match")
    review(world.db, [fid], ReviewDecision.CONFIRMED, "ana")
    [nid] = store.draft_notices(world.db, [fid], template=template("ebay_vero"),
                                ground=Ground.UNLAWFUL_IMPORTATION, party=party(tmp_path), actor="lee",
                                countries=["US"])
    [row] = list(csv.DictReader(io.StringIO(export_notice(world.db, nid, "csv", redacted=True).data
                                            .decode("utf-8-sig"))))
    assert row["veroReasonCodeId"] == "9037" and row["countries"] == "US" and row["itemId"] == "L1"
    assert len(row["messageToSeller"]) <= 1000 and row["brand"] == "露米娜"


def test_redaction_of_seller_personal_data(world: World, tmp_path: Path) -> None:
    nid, _ = notice_with_evidence(world, tmp_path)
    redacted = export_notice(world.db, nid, "csv", redacted=True).data.decode("utf-8-sig")
    full = export_notice(world.db, nid, "csv", redacted=False).data.decode("utf-8-sig")
    for personal in ("+86 138 0000 0000", "福建省莆田市某路1号", "广东 深圳"):
        assert personal not in redacted and personal in full
    assert "莆田优品美妆" in redacted  # the shop name stays: the notice must say which shop


def test_zip_bundle_manifest_verifies(world: World, tmp_path: Path) -> None:
    nid, (html_sha, shot_sha) = notice_with_evidence(world, tmp_path)
    exported = export_notice(world.db, nid, "zip", redacted=True)
    archive = zipfile.ZipFile(io.BytesIO(exported.data))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["notice_id"] == nid and manifest["algorithm"] == "SHA-256" and manifest["omitted"] == []
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(archive.namelist()) == {*listed, "manifest.json", "manifest.txt"}
    for path, entry in listed.items():
        data = archive.read(path)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"], path
    # manifest.txt is `sha256sum -c` input, and it covers manifest.json too
    for line in archive.read("manifest.txt").decode().splitlines():
        digest, path = line.split("  ", 1)
        assert hashlib.sha256(archive.read(path)).hexdigest() == digest

    kinds = {f["kind"]: f for f in manifest["files"]}
    assert {"notice-text", "notice-pdf", "bulk-form", "listing", "listing-photo", "reference-photo",
            "evidence-html", "evidence-screenshot", "test-buy-report", "test-buy-photo"} <= set(kinds)
    html = kinds["evidence-html"]
    # the captured page, decompressed: its hash is the address it was stored under
    assert html["sha256"] == html["evidence_sha256"] == html_sha and html["verified"] is True
    assert archive.read(html["path"]).startswith(b"<html>")
    assert kinds["evidence-screenshot"]["sha256"] == shot_sha
    assert CHINESE in archive.read("notice.txt").decode("utf-8")
    assert CHINESE in compact(pdf_text(archive.read("notice.pdf")))
    report = archive.read(kinds["test-buy-report"]["path"]).decode()
    assert "Order number: TB-2026-0042" in report and "Result: counterfeit" in report
    assert all(re.fullmatch(r"[A-Za-z0-9_./-]+", name) for name in archive.namelist())  # our ids, no scraped text
    listing = json.loads(archive.read(kinds["listing"]["path"]))
    assert "seller_contact" not in listing and listing["seller_name"] == "莆田优品美妆"


def test_zip_bundle_is_bounded(world: World, tmp_path: Path) -> None:
    nid, _ = notice_with_evidence(world, tmp_path)
    doc = store.load_notice(world.db, nid, with_photos=True)
    assert doc is not None
    out = io.BytesIO()
    manifest = write_bundle(doc, load_media(world.db, doc), lambda sha: None, out, notice_pdf=b"%PDF-small",
                            listings_csv=b"csv", redacted=True, max_total_bytes=4000)
    reasons = {o["reason"] for o in manifest.omitted}
    assert "the capture is no longer in the database" in reasons
    assert any("cap" in r for r in reasons) and manifest.total <= 4000
    archive = zipfile.ZipFile(out)
    for entry in json.loads(archive.read("manifest.json"))["files"]:
        assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]


def test_diversion_exports_state_no_prices(world: World, tmp_path: Path) -> None:
    nid, _ = notice_with_evidence(world, tmp_path, ground=Ground.DIVERSION, name="distribution_policy",
                                  title=f"{CHINESE} 正品 清仓")
    text = compact(pdf_text(export_notice(world.db, nid, "pdf", redacted=True).data))
    assert "经销渠道政策报告" in text and "99.00" not in text and "Pricepaid" not in text
    assert "Price" not in export_notice(world.db, nid, "csv", redacted=True).data.decode("utf-8-sig").split("\n")[1]


def test_unknown_notice_or_format(world: World) -> None:
    with pytest.raises(ExportError, match="there is no notice 99"):
        export_notice(world.db, 99, "pdf", redacted=True)
    with pytest.raises(ExportError, match="use one of pdf, docx, csv, xlsx, zip"):
        export_notice(world.db, 1, "html", redacted=True)
