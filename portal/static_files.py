"""Static files under content-hashed URLs, cached for a year; the plain URLs keep working.

`url_for('static', filename='css/site.css')` (templates, e-mails, Python) gives
`/static/3f2a9c1b0d4e/css/site.css`: the first path segment is the first 12 hex digits of the
file's SHA-256. The hash is a path segment, not a query string (some shared caches do not keep
URLs with one), and the file keeps its own name, so its type, the browser's developer tools and
nginx rules by extension see the same name as before.

- A hashed URL whose hash is the file's: the file, `Cache-Control: public, max-age=31536000,
  immutable`. A browser never asks again; a new file has a new URL.
- A hashed URL whose hash is not (a page rendered before a release, or by a host not yet on it):
  302 to the current hashed URL, not cached. The year-long header only ever goes with the bytes
  its hash names, and an old page still gets its stylesheet and script rather than a 404.
- A plain URL (`/static/css/site.css`, old pages and bookmarks): the file, `no-cache` (the
  browser revalidates with its ETag and gets a 304).

Each file is hashed once per process (at start-up, or on its first `url_for` if it appeared
later, such as vendor/htmx.min.js after `make vendor`); a file missing altogether keeps its
plain URL, which answers 404 as before. In debug mode (`make run`) a file is hashed again when
its size or modification time changes, so an edited stylesheet shows on the next reload.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat

from flask import Flask, current_app, redirect, request, send_from_directory, session, url_for
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
YEAR = 31536000
DIGITS = 12
_HASHED = re.compile(rf"([0-9a-f]{{{DIGITS}}})/(.+)")


class Digests:
    """The content hash of each file in one static folder, computed once per file."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._known: dict[str, tuple[tuple[int, int], str]] = {}

    def warm(self) -> None:
        for root, _dirs, files in os.walk(self.folder):
            for name in files:
                self.digest(
                    os.path.relpath(os.path.join(root, name), self.folder).replace(os.sep, "/")
                )

    def digest(self, filename: str, recheck: bool = False) -> str | None:
        """The file's hash, or None when there is no such file in the folder."""
        known = self._known.get(filename)
        if known is not None and not recheck:
            return known[1]
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        version = (st.st_mtime_ns, st.st_size)
        if known is not None and known[0] == version:
            return known[1]
        with open(path, "rb") as f:
            value = hashlib.file_digest(f, "sha256").hexdigest()[:DIGITS]
        self._known[filename] = (version, value)
        return value


def hashed_path(filename: str, digest: str) -> str:
    return f"{digest}/{filename}"


def split(filename: str) -> tuple[str, str | None]:
    """`3f2a9c1b0d4e/css/site.css` → (`css/site.css`, `3f2a9c1b0d4e`); a plain name → (it, None)."""
    if (m := _HASHED.fullmatch(filename)) is None:
        return filename, None
    return m.group(2), m.group(1)


def register(app: Flask) -> None:
    if not app.static_folder:
        return
    digests = Digests(app.static_folder)
    digests.warm()
    app.extensions["static_digests"] = digests

    @app.url_defaults
    def hashed_static_url(endpoint: str, values: dict) -> None:
        if endpoint != "static" or "filename" not in values:
            return
        filename = values["filename"]
        if (digest := digests.digest(filename, recheck=current_app.debug)) is not None:
            values["filename"] = hashed_path(filename, digest)

    def static(filename: str) -> Response:
        name, claimed = split(filename)
        if claimed is not None:
            current = digests.digest(name, recheck=current_app.debug)
            if current == claimed:
                response = send_from_directory(digests.folder, name, max_age=YEAR)
                response.headers["Cache-Control"] = IMMUTABLE
                return response
            if current is not None:
                response = redirect(url_for("static", filename=name), 302)
                response.headers["Cache-Control"] = "no-store"
                return response
        # A plain name (or a name that only looks hashed): the file itself, revalidated.
        response = send_from_directory(digests.folder, filename, max_age=None)
        response.headers["Cache-Control"] = REVALIDATE
        return response

    # The rule Flask made for the folder (/static/<path:filename>, endpoint "static") stays; only
    # its view changes, so `request.endpoint == "static"` checks elsewhere still hold.
    app.view_functions["static"] = static

    def no_vary_cookie(response: Response) -> Response:
        """A static file is the same for every visitor. Flask-Login reads the session after
        every request, and Flask then adds `Vary: Cookie`: a browser would fetch the year-long
        stylesheet again whenever the session cookie changes (a verification, a language), and
        a shared cache would keep one copy per visitor. Runs last of the after-request hooks."""
        if request.endpoint == "static" and not session.modified:
            session.accessed = False
        return response

    # after_request hooks run in reverse order of registration: first in the list runs last.
    app.after_request_funcs.setdefault(None, []).insert(0, no_vary_cookie)
