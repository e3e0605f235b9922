"""A file's text (strictly UTF-8) and, for CSV, its data rows under a checked header."""

from __future__ import annotations

import csv
import io

from portal.services.network.files.fields import Row
from portal.services.network.files.rows import COLUMNS, MAX_ROWS, FileRejected, RowError
from portal.services.network.words import N_


def decoded(data: bytes | str, unit: str = "line") -> str:
    """The file's text, strictly UTF-8 (a byte-order mark dropped)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileRejected(
                [
                    RowError(
                        1, "file", N_("is not UTF-8 (byte %(n)d is not valid)", n=exc.start), unit
                    )
                ]
            ) from None
    return data.removeprefix("\ufeff")


def csv_rows(data: bytes | str, kind: str) -> list[tuple[int, dict[str, str]]]:
    """(line, values) per data row; FileRejected for a file that isn't this kind's CSV."""
    data = decoded(data)
    if "\x00" in data:
        raise FileRejected([RowError(1, "file", N_("is not a text file"))])
    reader = csv.reader(io.StringIO(data, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected([RowError(1, "file", N_("is empty: give the header row"))]) from None
    except csv.Error as exc:
        raise FileRejected(
            [RowError(1, "file", N_("is not CSV (%(problem)s)", problem=str(exc)))]
        ) from None
    header = [h.strip() for h in header]
    wanted = COLUMNS[kind]
    missing = [c for c in wanted if c not in header]
    unknown = [c for c in header if c not in wanted]
    if missing or unknown:
        columns = ",".join(wanted)
        missing_text, unknown_text = ", ".join(missing), ", ".join(repr(c) for c in unknown)
        if missing and unknown:
            message = N_(
                "missing %(missing)s; unknown %(unknown)s (the columns are %(columns)s)",
                missing=missing_text,
                unknown=unknown_text,
                columns=columns,
            )
        elif missing:
            message = N_(
                "missing %(missing)s (the columns are %(columns)s)",
                missing=missing_text,
                columns=columns,
            )
        else:
            message = N_(
                "unknown %(unknown)s (the columns are %(columns)s)",
                unknown=unknown_text,
                columns=columns,
            )
        raise FileRejected([RowError(1, "header", message)])
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
                raise FileRejected(
                    [RowError(line, "file", N_("has more than %(num)d rows", num=MAX_ROWS))]
                )
    except csv.Error as exc:
        raise FileRejected(
            [RowError(reader.line_num, "file", N_("is not CSV (%(problem)s)", problem=str(exc)))]
        ) from None
    return rows


def width_error(row: Row, kind: str) -> bool:
    if "__width__" in row.values:
        row.fail(
            "row",
            N_(
                "has %(num)s fields, the header %(header)d",
                num=row.values["__width__"],
                header=len(COLUMNS[kind]),
            ),
        )
        return True
    return False
