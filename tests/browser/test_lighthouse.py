"""Lighthouse 12.2.3 (npm) with Debian chromium, as README's "Checking pages" runs it: the home
page scores 100 for accessibility, best practices and SEO; a tracking page 100 for the first two
(its SEO is meant to fail: it says noindex)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.customer import make_customer

pytestmark = [pytest.mark.browser, pytest.mark.committed, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --no-first-run"
)


def lighthouse(url: str, tmp_path: Path) -> dict:
    report = tmp_path / "report.json"
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--only-categories=accessibility,best-practices,seo",
            f"--chrome-flags={FLAGS}",
            "--output=json",
            f"--output-path={report}",
            "--quiet",
        ],
        env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"},
        check=True,
        timeout=180,
    )
    found = json.loads(report.read_text())
    failing = [
        f"{a['id']}: {a['title']}"
        for a in found["audits"].values()
        if a.get("score") is not None and a["score"] < 1 and a["scoreDisplayMode"] == "binary"
    ]
    return {name: c["score"] for name, c in found["categories"].items()} | {"failing": failing}


def test_the_home_page_scores_100_everywhere(live_server, tmp_path):
    scores = lighthouse(f"{live_server}/", tmp_path)
    assert (scores["accessibility"], scores["best-practices"], scores["seo"]) == (1, 1, 1), scores


def test_a_tracking_page_scores_100_for_accessibility_and_best_practices(db, live_server, tmp_path):
    world = make_customer()
    scores = lighthouse(f"{live_server}/t/{world.on_its_way.tracking_number}", tmp_path)
    assert (scores["accessibility"], scores["best-practices"]) == (1, 1), scores
    assert any(f.startswith("is-crawlable") for f in scores["failing"])  # noindex, as meant
