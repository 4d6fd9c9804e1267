"""matching.evaluate against a small hand-built database and labels file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.catalogue import sync_catalogue
from core.db import Database
from matching.evaluate import evaluate, format_cases, pool_cases, read_labels
from matching.run import run_matching
from tests.matching_kit import add_listing, genuine_photo, make_config, unrelated_photo

LABELS = """marketplace,external_id,label
shop,1,genuine
shop,2,counterfeit
shop,3,diversion
mall,4,diversion
shop,5,genuine
shop,6,counterfeit
shop,404,counterfeit
"""


@pytest.fixture
def matched_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path}/t.db")
    config = make_config(tmp_path)
    sync_catalogue(db, config)
    add_listing(db, "shop", "1", "露米娜焕活精华液", price="680", seller=("露米娜官方旗舰店", "official"),
                location="上海", images=(genuine_photo(),))  # ok, right
    add_listing(db, "shop", "2", "露米娜焕活精华液 高仿", price="136", images=(genuine_photo(),))  # counterfeit, right
    add_listing(db, "shop", "3", "露米娜水润面霜 清仓", price="330", images=(genuine_photo("LM-200"),))  # right
    add_listing(db, "mall", "4", "Lumina 台灯", price="89", images=(unrelated_photo(),))  # missed: unrelated
    add_listing(db, "shop", "5", "露米娜水润面霜", price="300", images=(genuine_photo("LM-200"),))  # false flag
    add_listing(db, "shop", "6", "露米娜水润面霜", price="390", images=(genuine_photo("LM-200"),))  # wrong kind
    add_listing(db, "shop", "7", "露米娜水润面霜", price="390", images=(genuine_photo("LM-200"),))  # not labelled
    run_matching(db, config)
    yield db
    db.dispose()


def test_evaluate_counts_precision_recall_and_confusion(matched_db: Database, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(LABELS, encoding="utf-8")
    report = evaluate(matched_db, labels)
    assert report.total == 7 and report.true_suspects == 5
    assert (report.true_positives, report.false_positives, report.false_negatives, report.true_negatives) == (
        3, 1, 2, 1)
    assert report.precision == 0.75 and report.recall == 0.6
    assert report.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35, abs=1e-4)
    assert report.verdict_correct == 2 and report.verdict_accuracy == pytest.approx(0.6667)
    assert report.confusion == {
        "counterfeit": {"counterfeit": 1},
        "diversion": {"diversion": 1, "genuine": 1, "counterfeit": 1},
        "missing": {"counterfeit": 1},
        "ok": {"genuine": 1},
        "unrelated": {"diversion": 1},
    }
    # The square matrix over the four kinds: labels down, what matching said across (breach counts as diversion,
    # genuine as ok, no finding as none).
    assert report.verdict_confusion == {
        "counterfeit": {"counterfeit": 1, "diversion": 1, "ok": 0, "unrelated": 0, "none": 1},
        "diversion": {"counterfeit": 0, "diversion": 1, "ok": 0, "unrelated": 1, "none": 0},
        "ok": {"counterfeit": 0, "diversion": 1, "ok": 1, "unrelated": 0, "none": 0},
        "unrelated": {"counterfeit": 0, "diversion": 0, "ok": 0, "unrelated": 0, "none": 0},
    }
    assert [e["external_id"] for e in report.missing] == ["404"]
    assert [e["external_id"] for e in report.false_positive_listings] == ["5"]
    assert sorted(e["external_id"] for e in report.false_negative_listings) == ["4", "404"]
    assert [e["external_id"] for e in report.wrong_kind_listings] == ["6"]
    fp = report.false_positive_listings[0]
    assert fp["verdict"] == "diversion" and any("not authorised" in r for r in fp["reasons"])
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()


def test_min_score_decides_what_counts_as_flagged(matched_db: Database, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(LABELS, encoding="utf-8")
    strict = evaluate(matched_db, labels, min_score=0.99)
    assert strict.flagged == 0 and strict.recall == 0.0 and strict.precision == 0.0
    assert strict.verdict_confusion["counterfeit"]["ok"] == 2  # suspect verdicts under min_score read as ok


@pytest.mark.parametrize(("content", "expected"), [
    ("marketplace,external_id\nshop,1\n", r"line 1: the header lacks label; the first line must be"),
    ("marketplace,external_id,label\nshop,1,genuine\nshop,2,fake\n", r"line 3: unknown label 'fake'; use one of"),
    ("marketplace,external_id,label\nshop,,genuine\n", r"line 2: 'external_id' is empty"),
    ("marketplace,external_id,label\nshop,1,genuine\nshop,1,diversion\n", r"line 3: shop 1 is labelled again"),
])
def test_bad_labels_name_the_file_line_and_fix(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=expected) as info:
        read_labels(path)
    assert str(path) in str(info.value)


def test_unreadable_labels_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="labels file not found"):
        read_labels(tmp_path / "nope.csv")
    binary = tmp_path / "labels.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00\x81")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_labels(binary)
    with pytest.raises(ValueError, match="cannot be read"):
        read_labels(tmp_path)


def test_labels_tolerate_bom_case_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("\ufeffmarketplace,external_id,label\nshop,1,Genuine\n\nshop,2, counterfeit \n", encoding="utf-8")
    assert [(x.external_id, x.label) for x in read_labels(path)] == [("1", "genuine"), ("2", "counterfeit")]


def test_listing_not_matched_yet_is_counted_apart(matched_db: Database, tmp_path: Path) -> None:
    add_listing(matched_db, "shop", "8", "露米娜焕活精华液 高仿", price="100")
    labels = tmp_path / "labels.csv"
    labels.write_text("marketplace,external_id,label\nshop,8,counterfeit\n", encoding="utf-8")
    report = evaluate(matched_db, labels)
    assert [e["external_id"] for e in report.not_matched] == ["8"]
    assert report.false_negatives == 1 and report.confusion == {"not_matched": {"counterfeit": 1}}


CASE_LABELS = """marketplace,external_id,label,case,distributor
shop,1,genuine,genuine,
shop,2,counterfeit,control_copy,
shop,3,diversion,printed_lot_diversion,华南美妆供应链
shop,9,diversion,printed_lot_diversion,Lumina Cosmetics
mall,4,diversion,control_diversion_title_code,
shop,5,genuine,genuine_own_photo,
shop,6,counterfeit,control_copy,
shop,10,genuine,,
"""


def test_figures_per_case_with_distributor_traced(matched_db: Database, tmp_path: Path) -> None:
    # The official shop (distributor Lumina Cosmetics) selling from outside its region: its finding names it.
    add_listing(matched_db, "shop", "9", "露米娜水润面霜", price="330", seller=("露米娜官方旗舰店", "official"),
                location="广东 深圳", images=(genuine_photo("LM-200"),))
    add_listing(matched_db, "shop", "10", "露米娜焕活精华液", price="680", seller=("露米娜官方旗舰店", "official"),
                location="上海", images=(genuine_photo(),))
    run_matching(matched_db, make_config(tmp_path, write_files=False))
    labels = tmp_path / "labels.csv"
    labels.write_text(CASE_LABELS, encoding="utf-8")
    report = evaluate(matched_db, labels)
    cases = report.cases
    assert list(cases) == ["control_copy", "control_diversion_title_code", "printed_lot_diversion", "genuine",
                           "genuine_own_photo"]  # by label, then by name; a blank case is in no case
    copy = cases["control_copy"]
    assert (copy["listings"], copy["suspects"], copy["flagged"], copy["true_positives"]) == (2, 2, 2, 2)
    assert copy["precision"] == 1.0 and copy["recall"] == copy["found"] == 1.0
    assert copy["verdict_accuracy"] == copy["right_verdict"] == 0.5  # listing 6 was called diversion
    assert copy["counterfeit_calls"] == 1 and copy["distributor_traced"] is None
    lots = cases["printed_lot_diversion"]
    assert (lots["flagged"], lots["verdict_correct"], lots["distributor_labelled"]) == (2, 2, 2)
    assert lots["distributor_named"] == 1 and lots["distributor_traced"] == 0.5  # only the official shop is named
    missed = cases["control_diversion_title_code"]
    assert missed["flagged"] == 0 and missed["recall"] == 0.0 and missed["precision"] is None
    own = cases["genuine_own_photo"]
    assert own["suspects"] == 0 and own["false_positives"] == 1 and own["precision"] == 0.0
    assert own["recall"] is None and own["right_verdict"] is None
    assert cases["genuine"]["flagged"] == 0 and cases["genuine"]["labels"] == ["genuine"]
    assert pool_cases(cases, ["genuine", "control_copy", "genuine_own_photo"]) == {
        "precision": pytest.approx(0.6667), "recall": 1.0, "verdict_accuracy": 0.5}
    text = "\n".join(format_cases(cases))
    assert "printed_lot_diversion" in text and "0.50" in text
    assert json.loads(json.dumps(report.to_dict()))["cases"] == cases


@pytest.mark.parametrize(("content", "expected"), [
    ("marketplace,external_id,label,case\nshop,1,genuine,own photo!\n", r"line 2: case 'own photo!' is not a case"),
    ("marketplace,external_id,label,case,distributor\nshop,1,genuine,genuine,华南\n",
     r"line 2: a distributor is given for a listing labelled genuine"),
])
def test_bad_case_columns_name_the_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=expected):
        read_labels(path)
