"""A file's text (strictly UTF-8) and, for CSV, its data rows under a checked header."""

from __future__ import annotations

import csv
import io

from portal.services.network.files.fields import Row
from portal.services.network.files.rows import COLUMNS, MAX_ROWS, FileRejected, RowError


def decoded(data: bytes | str, unit: str = "line") -> str:
    """The file's text, strictly UTF-8 (a byte-order mark dropped)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileRejected(
                [RowError(1, "file", f"is not UTF-8 (byte {exc.start} is not valid)", unit)]
            ) from None
    return data.removeprefix("\ufeff")


def csv_rows(data: bytes | str, kind: str) -> list[tuple[int, dict[str, str]]]:
    """(line, values) per data row; FileRejected for a file that isn't this kind's CSV."""
    data = decoded(data)
    if "\x00" in data:
        raise FileRejected([RowError(1, "file", "is not a text file")])
    reader = csv.reader(io.StringIO(data, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected([RowError(1, "file", "is empty: give the header row")]) from None
    except csv.Error as exc:
        raise FileRejected([RowError(1, "file", f"is not CSV ({exc})")]) from None
    header = [h.strip() for h in header]
    wanted = COLUMNS[kind]
    missing = [c for c in wanted if c not in header]
    unknown = [c for c in header if c not in wanted]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(repr(c) for c in unknown)}")
        raise FileRejected(
            [RowError(1, "header", f"{'; '.join(problems)} (the columns are {','.join(wanted)})")]
        )
    rows = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines are no rows
            if len(values) != len(header):
                rows.append((line, {"__width__": str(len(values))}))
                continue
            rows.append((line, dict(zip(header, values, strict=True))))
            if len(rows) > MAX_ROWS:
                raise FileRejected([RowError(line, "file", f"has more than {MAX_ROWS} rows")])
    except csv.Error as exc:
        raise FileRejected([RowError(reader.line_num, "file", f"is not CSV ({exc})")]) from None
    return rows


def width_error(row: Row, kind: str) -> bool:
    if "__width__" in row.values:
        row.fail("row", f"has {row.values['__width__']} fields, the header {len(COLUMNS[kind])}")
        return True
    return False
