"""The held-out evaluation market (a seed and a surface detection was never tuned on), crawled and matched for real
by `brandpatrol demo --market heldout --no-serve --json`: issue #15's targets, overall and per hard case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brandpatrol.demo.surfaces import CASES, HELDOUT, PLAIN_CASES, case_counts
from core.settings import get_settings
from matching.evaluate import format_cases, pool_cases
from tests.test_demo_end_to_end import run_cli

pytestmark = [pytest.mark.timeout(900), pytest.mark.browser]


def test_heldout_market_end_to_end_reports_every_case(tmp_path: Path) -> None:
    """The market detection was never tuned on, crawled and matched for real; the per-case table is printed for
    the record. The hard cases' targets are asserted once detection handles them; the plain ones hold today."""
    if get_settings().browser_executable() is None:
        pytest.skip("Chromium is not installed and could not be installed here (run tools/install-system-packages.sh)")
    result = run_cli("demo", "--market", "heldout", "--no-serve", "--json", "--workdir", str(tmp_path / "heldout"),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    cases = summary["cases"]
    print("\nheld-out market, per case:\n" + "\n".join(format_cases(cases)))
    assert summary["market"] == "heldout" and summary["listings"] == 2 * HELDOUT.listings_per_marketplace
    expected = case_counts(HELDOUT.listings_per_marketplace)
    assert {case: figures["listings"] for case, figures in cases.items()} == {c: 2 * n for c, n in expected.items()}
    for case, figures in cases.items():
        assert figures["labels"] == [CASES[case][0]]
        for key in ("precision", "recall", "verdict_accuracy", "right_verdict", "found", "distributor_traced",
                    "counterfeit_calls", "flagged"):
            assert key in figures, (case, key)
    assert cases["printed_lot_diversion"]["distributor_labelled"] == cases["printed_lot_diversion"]["listings"]
    assert cases["control_diversion_title_code"]["distributor_labelled"] > 0
    # Issue #15's targets, on the market detection was never tuned on: overall, then per hard case.
    assert summary["precision"] >= 0.95 and summary["recall"] >= 0.90 and summary["verdict_accuracy"] >= 0.85
    for case in ("own_photo_fake", "bent_name_fake"):
        assert cases[case]["right_verdict"] >= 0.80, (case, cases[case])
    assert cases["printed_lot_diversion"]["distributor_traced"] >= 0.80, cases["printed_lot_diversion"]
    assert cases["network_shop"]["found"] >= 0.90, cases["network_shop"]
    lookalikes = cases["lookalike_other_brand"]
    assert lookalikes["flagged"] / lookalikes["listings"] <= 2 / 33, lookalikes
    assert cases["genuine_own_photo"]["flagged"] == 0, cases["genuine_own_photo"]  # an own photo proves nothing
    # The plain cases do not fall (before this work: precision 1.00, recall 0.98, verdict 0.92).
    plain = pool_cases(cases, PLAIN_CASES)
    assert plain["precision"] >= 1.0 and plain["recall"] >= 0.98 and plain["verdict_accuracy"] >= 0.92, plain
    control = pool_cases(cases, ["control_copy", "control_diversion_title_code"])
    assert control["recall"] >= 0.90 and control["verdict_accuracy"] >= 0.85, control
    assert cases["control_diversion_title_code"]["distributor_traced"] >= 0.9
    # The summary's figures are evaluate's on the database the run left (the same job without serving).
    workdir = tmp_path / "heldout"
    report = run_cli("evaluate", "--labels", str(workdir / "labels.csv"), "--db", f"sqlite:///{workdir / 'demo.db'}",
                     "--json", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    quality = json.loads(report.stdout)
    assert summary["findings"] == quality["flagged"] and summary["cases"] == quality["cases"]
    # A second market in its own work directory: the tuning demo's database is not touched.
    assert (tmp_path / "heldout" / "demo.db").is_file() and not (tmp_path / ".brandpatrol-demo").exists()
