"""Where uploaded files live: a small interface, and local files under UPLOAD_FOLDER behind it.

Keys are random and say nothing about the file or its owner; object storage (S3 and the like)
can be plugged in later by putting another `Storage` in `app.extensions["storage"]`.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Protocol

from flask import current_app

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
# Two hex characters of fan-out, then 32 random hex characters and an extension we chose.
_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}\.(jpg|png|webp)$")


class StoredFileMissing(LookupError):
    """No file under this key (never written, or deleted)."""


class Storage(Protocol):
    def save(self, data: bytes, content_type: str) -> str:
        """Store `data` under a new random key and return the key."""

    def open(self, key: str) -> bytes:
        """The bytes stored under `key`, or StoredFileMissing."""

    def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error."""


class LocalStorage:
    """Files in a folder on this machine (one folder per two-character prefix)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        # Only keys this class made: nothing from a request can reach outside the folder.
        if not _KEY.fullmatch(key):
            raise StoredFileMissing(key)
        return self.root / key

    def save(self, data: bytes, content_type: str) -> str:
        token = secrets.token_hex(16)
        key = f"{token[:2]}/{token}{EXTENSIONS[content_type]}"
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name and renamed, so a reader never sees half a file.
        partial = path.with_name(f".{path.name}.part")
        try:
            with open(partial, "xb") as f:
                f.write(data)
            os.replace(partial, path)
        except OSError:  # a full disk, say: leave nothing behind
            partial.unlink(missing_ok=True)
            raise
        return key

    def open(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoredFileMissing(key) from None

    def delete(self, key: str) -> None:
        with contextlib.suppress(StoredFileMissing):
            self._path(key).unlink(missing_ok=True)


def get_storage() -> Storage:
    """The app's storage: `app.extensions["storage"]` if set, else local files."""
    storage = current_app.extensions.get("storage")
    if storage is not None:
        return storage
    folder = current_app.config.get("UPLOAD_FOLDER") or os.path.join(
        current_app.instance_path, "uploads"
    )
    return LocalStorage(folder)
