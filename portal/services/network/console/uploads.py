"""Network files imported from the console in two steps: a preview that counts what the file
would change, lists every bad row and the parcels a closure would touch, and writes nothing;
then Apply, which imports the same file only if it still changes what the preview showed.

Between the two the file waits on the server (`stage`), under a random key the console keeps in
the supervisor's signed session: the browser never sends the file back, so what is applied is
byte for byte what was previewed, and nobody else's session can name it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.extensions import db
from portal.models import Account
from portal.models.types import utcnow
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError
from portal.services.network import files, imports
from portal.services.network.console import Booked, bookings_of, record_withdrawn

KINDS = files.KINDS  # zones, slots, pickup-points
# A preview shows this many bad rows at most (a file of 50,000 wrong rows is fixed by its
# first thousand errors, and the page stays small).
ERRORS_SHOWN = 1000
# A staged file nobody applied is removed when a later preview finds it this old.
STAGED_SECONDS = 24 * 3600
_KEY = re.compile(r"[0-9a-f]{32}")


@dataclass
class ImportPreview:
    kind: str
    filename: str
    close_missing: bool
    digest: str  # SHA-256 of the file
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    # What the parcels are booked on → their tracking numbers.
    affected: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error_count

    @property
    def affected_count(self) -> int:
        return sum(len(tns) for tns in self.affected.values())

    @property
    def signature(self) -> str:
        """What the preview promised: applying goes ahead only while this stays the same."""
        seen = sorted(tn for tns in self.affected.values() for tn in tns)
        text = json.dumps([self.kind, self.close_missing, self.digest, self.counts, seen])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


class PreviewOutdated(Conflict):
    """The network changed since the preview: the file would now do something else."""

    code = "preview_outdated"

    def __init__(self, preview: ImportPreview):
        super().__init__(
            _(
                "The network changed since your preview, so this file would now change something "
                "else: check the new preview below and apply again."
            )
        )
        self.preview = preview


class ImportRaced(Conflict):
    """Someone saved a row this import writes while it ran: its version moved on (a stale
    update) or it took a key the import adds. The import is rolled back whole."""

    code = "import_raced"

    def __init__(self):
        super().__init__(
            _(
                "Someone changed the network while your file was being applied, so nothing was "
                "imported: check the new preview below and apply again."
            )
        )


def _run(kind: str, data: bytes, filename: str, *, close_missing: bool, dry_run: bool):
    if kind not in files.KINDS:
        raise DomainError(_("Choose what the file holds."), field="kind")
    return imports.import_file(kind, data, filename, dry_run=dry_run, close_missing=close_missing)


def _grouped(booked: list[Booked]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for b in booked:
        out.setdefault(b.booked_on, []).append(b.tracking_number)
    return out


def preview_import(kind: str, data: bytes, filename: str, close_missing: bool) -> ImportPreview:
    """The import run as a dry run in a savepoint that is rolled back: nothing is written."""
    close_missing = close_missing and kind == "pickup-points"
    preview = ImportPreview(kind, filename, close_missing, hashlib.sha256(data).hexdigest())
    savepoint = db.session.begin_nested()
    try:
        result = _run(kind, data, filename, close_missing=close_missing, dry_run=True)
        preview.counts = result.counts()
        preview.affected = _grouped(bookings_of(result.affected))
    except files.FileRejected as exc:
        preview.error_count = len(exc.errors)
        preview.errors = [e.translated() for e in exc.errors[:ERRORS_SHOWN]]
    finally:
        savepoint.rollback()
    return preview


def apply_import(
    actor: Account,
    kind: str,
    data: bytes,
    filename: str,
    close_missing: bool,
    signature: str,
    *,
    now: datetime | None = None,
) -> ImportPreview:
    """Import the file for real, if it still does what the previewed one did (`signature`);
    audited with its counts, and on each parcel whose booking a closure took."""
    now = now or utcnow()
    preview = preview_import(kind, data, filename, close_missing)
    if not preview.ok or preview.signature != signature:
        raise PreviewOutdated(preview)
    try:
        result = _run(kind, data, filename, close_missing=preview.close_missing, dry_run=False)
        booked = bookings_of(result.affected)
        subject = f"network:{kind}"
        record(
            actor,
            "network.import",
            subject=subject,
            after={
                "file": filename,
                "sha256": preview.digest,
                "close_missing": preview.close_missing,
                **result.counts(),
                "withdrawn": [b.tracking_number for b in booked],
            },
        )
        record_withdrawn(actor, result.affected, booked, subject, imports.CLOSED_MISSING)
        # Every write reaches the database here, so a race shows now, not at the commit.
        db.session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise ImportRaced() from exc
    preview.counts = result.counts()
    return preview


# --- the file between preview and apply ------------------------------------------------------


def _folder() -> Path:
    base = current_app.config.get("UPLOAD_FOLDER") or os.path.join(
        current_app.instance_path, "uploads"
    )
    return Path(base) / "network-imports"


def stage(data: bytes) -> str:
    """Keep `data` under a new random key (and clear out files left over from old previews)."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - STAGED_SECONDS
    for old in folder.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass  # another process removed it first
    key = secrets.token_hex(16)
    partial = folder / f".{key}.part"
    with open(partial, "xb") as f:
        f.write(data)
    os.replace(partial, folder / key)
    return key


def staged(key: str) -> bytes | None:
    """The staged file, or None when the key is malformed or the file is gone."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        return None
    try:
        return (_folder() / key).read_bytes()
    except OSError:
        return None


def unstage(key: str) -> None:
    if isinstance(key, str) and _KEY.fullmatch(key):
        (_folder() / key).unlink(missing_ok=True)
