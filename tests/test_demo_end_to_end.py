"""The Quick start, as a user runs it: `brandpatrol demo` serves the dashboard with the demo's flagged listings,
`--no-serve --json` reports precision and recall, and the CLI reads the same database."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from brandpatrol.demo.surfaces import CASES, PLAIN_CASES
from core.settings import get_settings
from matching.evaluate import pool_cases

pytestmark = [pytest.mark.timeout(900), pytest.mark.browser]
BRANDPATROL = [sys.executable, "-m", "brandpatrol.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_health(url: str, proc: subprocess.Popen[str], limit_s: float = 600) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"demo exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {limit_s} s")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BRANDPATROL, *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def test_demo_serves_flagged_listings_and_reports_quality(tmp_path: Path) -> None:
    chromium = get_settings().browser_executable()
    if chromium is None:
        pytest.skip("Chromium is not installed and could not be installed here (run tools/install-system-packages.sh)")
    port = free_port()
    err_path = tmp_path / "demo.stderr"
    err_file = err_path.open("w", encoding="utf-8")
    proc = subprocess.Popen([*BRANDPATROL, "demo", "--port", str(port)], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=err_file, start_new_session=True)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_stcore/health", proc)
        # The demo prints its admin account's fresh password on stderr before serving.
        [password] = re.findall(r"sign in as demo with password (\S+)", err_path.read_text(encoding="utf-8"))
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(chromium),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_label("Username").fill("demo")
            page.get_by_label("Password", exact=True).fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("[data-testid='stMetric']", timeout=60_000)
            page.wait_for_selector("[data-testid='stDataFrame']", timeout=60_000)
            page.screenshot(path=str(tmp_path / "dashboard-queue.png"), full_page=True)
            text = page.inner_text("body")
            browser.close()
        assert "Review queue" in text and "Counterfeit" in text
        assert (tmp_path / "dashboard-queue.png").stat().st_size > 10_000
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        err_file.close()
        err = err_path.read_text(encoding="utf-8")
    assert "crawled 100 listings from 2 demo marketplaces" in out, err[-2000:]

    workdir = tmp_path / ".brandpatrol-demo"
    db = f"sqlite:///{workdir / 'demo.db'}"
    report = run_cli("evaluate", "--labels", str(workdir / "labels.csv"), "--db", db, "--json", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    quality = json.loads(report.stdout)
    # Issue #4's targets, now on every case, the hard ones of issue #15 included (the held-out market below
    # asserts them per case); the demo's price bands overlap (fakes priced like diverted stock and the reverse).
    assert quality["precision"] >= 0.95 and quality["recall"] >= 0.90, quality
    assert quality["verdict_accuracy"] >= 0.85, quality
    plain = pool_cases(quality["cases"], PLAIN_CASES)
    assert plain["precision"] >= 0.95 and plain["recall"] >= 0.90, plain
    assert plain["verdict_accuracy"] >= 0.85, plain
    assert set(quality["cases"]) == set(CASES)

    findings = run_cli("findings", "--format", "csv", "--db", db, cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(findings.stdout)))
    assert len(rows) == quality["flagged"] > 0
    assert {row["verdict"] for row in rows} <= {"counterfeit", "diversion", "price_floor_breach"}


def test_malformed_config_is_refused_with_field_and_line(tmp_path: Path) -> None:
    config = tmp_path / "brandpatrol.yaml"
    config.write_text("brand: {name: Acme}\nproducts:\n  - sku: A\n    names: {en: A}\n    prices: [{currency: XYZ, "
                      "suggested: 1, floor: 1}]\n", encoding="utf-8")
    result = run_cli("check-config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "products.0.prices.0.currency (line 5)" in result.stderr and "ISO 4217" in result.stderr
    crawl = run_cli("crawl", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    assert crawl.returncode == 2 and "XYZ" in crawl.stderr
