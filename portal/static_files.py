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

Text files (CSS, JavaScript, SVG, JSON, source maps, plain text) are also served compressed,
brotli or gzip as the request's `Accept-Encoding` prefers (q-values honoured, `br;q=0` is a
no; brotli wins a tie), on hashed and plain URLs alike, by the app itself: `make run`, gunicorn
alone and gunicorn behind nginx all send the same bytes (nginx passes on a response that already
has a `Content-Encoding` untouched). Each file is compressed once per process, at brotli 11
and gzip 9, on the first request that asks for that encoding, and kept in memory (140 KB
for all of them), keyed by the file's size and modification time, so an edited file is
compressed afresh; nothing is written to disk and there is no build step. The first request
per process pays it once: 43 ms for htmx.min.js, 142 ms for leaflet.js, 11 ms for site.css
(BENCHMARKS.md, issue 22). A compressed answer has `Content-Encoding`, its own
`Content-Length` and its own ETag (`"<hash>-br"`), answers `If-None-Match` with a 304 and a
`Range` with the compressed bytes' range; every answer for such a file says
`Vary: Accept-Encoding`. A request without `Accept-Encoding`, or with neither br nor gzip
acceptable, gets the file as it is, as does a compressed form that would not be smaller.
Fonts and images are sent as they are: PNG is compressed already, and the DejaVu TTFs are read
by Pillow for labels, linked by no page (brotli 11 would cost 3.4 s per process for them).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import re
import stat
from collections.abc import Callable

import brotli
from flask import Flask, current_app, redirect, request, send_from_directory, session, url_for
from werkzeug.datastructures import Accept
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
DIGITS = 12
_HASHED = re.compile(rf"([0-9a-f]{{{DIGITS}}})/(.+)")

# Text compresses to a quarter or less; fonts and images are left as they are (see above).
COMPRESSIBLE = frozenset({".css", ".js", ".mjs", ".svg", ".json", ".map", ".txt"})
# In order of preference when the client's q-values tie: brotli is 10-15 % smaller than gzip.
CODERS: dict[str, Callable[[bytes], bytes]] = {
    "br": lambda data: brotli.compress(data, quality=11),
    "gzip": lambda data: gzip.compress(data, compresslevel=9, mtime=0),
}


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


def choose_encoding(accept: Accept) -> str | None:
    """The coding to send, from a parsed `Accept-Encoding`: the best-rated one we have, brotli
    on a tie; None for the file as it is (no header, `identity`, or `br;q=0, gzip;q=0`)."""
    best, rated = None, 0.0
    for coding in CODERS:
        if (q := accept.quality(coding)) > rated:
            best, rated = coding, q
    return best


class Compressed:
    """Brotli and gzip forms of text files, made on first demand and kept for the process.

    One per process, shared by every app in it (the tests make many): keyed by the file's path,
    and valid while its size and modification time are those it was made from."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], tuple[tuple[int, int], bytes | None, str]] = {}

    def get(self, path: str, coding: str, version: tuple[int, int]) -> tuple[bytes, str] | None:
        """(compressed bytes, ETag) of the file at `path`, or None when compressing it would
        not make it smaller."""
        known = self._known.get((path, coding))
        if known is None or known[0] != version:
            with open(path, "rb") as f:
                data = f.read()
            body: bytes | None = CODERS[coding](data)
            if len(body) >= len(data):
                body = None
            etag = f"{hashlib.sha256(data).hexdigest()[:16]}-{coding}"
            known = self._known[(path, coding)] = (version, body, etag)
        return None if known[1] is None else (known[1], known[2])


COMPRESSED = Compressed()


def send_static(
    folder: str, filename: str, cache_control: str, digest: str | None = None
) -> Response:
    """The file under `folder`, compressed when it is text and the request accepts it; 404 when
    there is no such file. Its plain bytes carry the content hash as ETag (`digest`), the same
    on every host behind a load balancer, not Werkzeug's modification-time one."""
    etag: str | bool = digest or True
    path = safe_join(folder, filename)
    if path is None or os.path.splitext(filename)[1].lower() not in COMPRESSIBLE:
        response = send_from_directory(folder, filename, max_age=None, etag=etag)
        response.headers["Cache-Control"] = cache_control
        return response
    coding = choose_encoding(request.accept_encodings)
    found = None
    if coding is not None:
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is not None and stat.S_ISREG(st.st_mode):
            found = COMPRESSED.get(path, coding, (st.st_mtime_ns, st.st_size))
    if found is None:
        response = send_from_directory(folder, filename, max_age=None, etag=etag)
    else:
        body, etag = found
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        response = current_app.response_class(body, mimetype=mimetype)
        response.headers["Content-Encoding"] = coding
        response.set_etag(etag)
        response.last_modified = st.st_mtime
        response.make_conditional(request, accept_ranges=True, complete_length=len(body))
    response.headers["Cache-Control"] = cache_control
    # Every answer for this file, its plain bytes too: a shared cache must not hand brotli to a
    # client that did not ask for it, nor keep only the plain copy for those that did.
    response.vary.add("Accept-Encoding")
    return response


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
                return send_static(digests.folder, name, IMMUTABLE, current)
            if current is not None:
                response = redirect(url_for("static", filename=name), 302)
                response.headers["Cache-Control"] = "no-store"
                return response
        # A plain name (or a name that only looks hashed): the file itself, revalidated.
        current = digests.digest(filename, recheck=current_app.debug)
        return send_static(digests.folder, filename, REVALIDATE, current)

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
