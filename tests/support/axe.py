"""axe-core in the test browser: `check_a11y(page, name)` fails on any WCAG 2.0/2.1/2.2 A or AA
violation and says what and where. axe-core comes pinned from the npm registry (package.json);
it stays in node_modules/ and is never served by the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 added only AA rules to axe's set (target-size), hence no `wcag22a`.
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def violations(page: Page) -> list[dict]:
    """axe's violations of the WCAG A and AA rules on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}): `make test` installs it (npm ci)")
    # Evaluated through the DevTools protocol, which the page's CSP (script-src 'self') doesn't
    # govern; add_script_tag would insert an inline <script>, which the CSP rightly blocks. So
    # the page is checked under its real CSP. `void 0`: a statement, not a value to send back.
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text() + "\n;void 0")
    # Not into frames: axe answers only from a frame it runs in, and a sandboxed one (the
    # console's e-mail preview) would keep it waiting. Such a frame's URL is checked as a page.
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, iframes: false})",
        WCAG_A_AA,
    )
    return result["violations"]


def report(found: list[dict]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}  {v['helpUrl']}")
        for node in v["nodes"]:
            lines.append(f"    {' '.join(map(str, node['target']))}")
            lines.append(f"      {node['failureSummary'].replace(chr(10), ' ')}")
    return "\n".join(lines)


def check_a11y(page: Page, name: str) -> None:
    """Assert that the page has no WCAG A/AA violation axe can find; `name` says which page."""
    found = violations(page)
    assert not found, f"{name} ({page.url}): {len(found)} accessibility rule(s) fail\n" + report(
        found
    )
