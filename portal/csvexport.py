"""CSV downloads from the console, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator

from flask import Response, current_app

# A cell starting with one of these is a formula to Excel and LibreOffice ("CSV injection"):
# a recipient named "=HYPERLINK(…)" must come out as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 1000


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def line(row: Iterable[object]) -> str:
    """One CSV line, every cell made safe."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([cell(c) for c in row])
    return buffer.getvalue()


def download(filename: str, header: list[str], rows: Iterable[Iterable[object]]) -> Response:
    """A streamed CSV attachment. `rows` may be a lazy generator reading the database: it is
    read CHUNK rows at a time, each chunk inside an app context of its own, so no context is
    held open between the pieces a server sends."""
    app = current_app._get_current_object()

    def stream() -> Iterator[str]:
        source = iter(rows)
        yield line(header)
        while True:
            with app.app_context():
                chunk = list(itertools.islice(source, CHUNK))
            if not chunk:
                return
            yield "".join(line(row) for row in chunk)

    response = Response(stream(), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
