"""Reading the gettext catalogues as `make messages` makes them, for the catalogue tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def extracted(tmp_dir: Path, *sources: str, ignore_dirs: str | None = None) -> set[str]:
    """The msgids a fresh extraction of `sources` finds (as the Makefile's `messages`)."""
    pot = tmp_dir / "extracted.pot"
    extract = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"]
    keywords = ["-k", "_l", "-k", "lazy_gettext"]
    ignore = ["--ignore-dirs", ignore_dirs] if ignore_dirs else []
    subprocess.run(
        [*extract, *keywords, *ignore, "-o", str(pot), *sources],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def translated(language: str, domain: str = "messages") -> set:
    """The msgids the catalogue translates (every plural form, nothing fuzzy)."""
    with (ROOT / f"portal/translations/{language}/LC_MESSAGES/{domain}.po").open("rb") as f:
        return {
            m.id
            for m in read_po(f)
            if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
        }
