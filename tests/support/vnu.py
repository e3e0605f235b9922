"""The Nu Html Checker (npm `vnu-jar`, run with the machine's Java): `check(pages, tmp_path)`
writes each named page to a file and checks them all in one run (one JVM start), answering
with the errors and warnings per page. `report(found)` says what and where, for a failure."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

VNU = (
    Path(__file__).resolve().parents[2] / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
)


@dataclass(frozen=True)
class Message:
    page: str
    kind: str  # "error" or "warning" ("info" messages with subType "warning")
    text: str
    line: int | None
    extract: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "document"
        return f"{self.page} ({where}): {self.text}\n    {self.extract.strip()}"


def _file_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name).strip("-") + ".html"


def check(pages: dict[str, str], directory: Path) -> list[Message]:
    """Every error and warning vnu finds on `pages` (name → HTML)."""
    java = shutil.which("java")
    if not VNU.exists() or not java:
        pytest.fail(f"the Nu Html Checker needs {VNU} (`npm ci`) and java on the PATH")
    names: dict[str, str] = {}  # the URL vnu names a file by → the page's name
    for name, html in pages.items():
        path = directory / _file_name(name)
        assert path.exists() is False, f"two pages would share the file {path.name}"
        path.write_text(html, encoding="utf-8")
        names[f"file:{path.resolve()}"] = name
    run = subprocess.run(
        [java, "-jar", str(VNU), "--format", "json", "--stdout"]
        + [url.removeprefix("file:") for url in names],
        capture_output=True,
        text=True,
        timeout=600,
    )
    found = []
    for m in json.loads(run.stdout)["messages"]:
        if m["type"] in ("error", "non-document-error"):
            kind = "error"
        elif m.get("subType") == "warning":
            kind = "warning"
        else:
            continue  # plain information
        page = names.get(m.get("url", ""), m.get("url", "?"))
        found.append(Message(page, kind, m["message"], m.get("lastLine"), m.get("extract", "")))
    return found


def report(found: list[Message]) -> str:
    return "\n".join(str(m) for m in found)
