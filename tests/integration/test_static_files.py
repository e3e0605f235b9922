"""Static files under content-hashed URLs (portal/static_files.py): a year in every cache for the
bytes a hash names, a redirect for a hash that is not the file's, the plain URLs as before; and
the documented nginx config compresses pages, CSS, JavaScript and JSON (issue 17). Text files
come brotli- or gzip-compressed from the app itself, as Accept-Encoding asks, and the nginx
config sends HSTS (issue 22)."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli
import pytest
from flask import Flask, url_for
from werkzeug.datastructures import Accept
from werkzeug.http import parse_accept_header

from portal.static_files import IMMUTABLE, choose_encoding, register, split
from tests.support import factories

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "portal" / "static"
HASHED = re.compile(r'(?:href|src)="(/static/([0-9a-f]{12})/([^"]+))"')


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def hashed_urls(html: str) -> dict[str, tuple[str, str]]:
    """{file name: (URL, hash)} for every hashed static URL in a page."""
    return {name: (url, h) for url, h, name in HASHED.findall(html)}


def small_app(folder: Path, debug: bool = False) -> Flask:
    """An app of its own on a static folder of the test's."""
    app = Flask("small", static_folder=str(folder), static_url_path="/static")
    app.debug = debug
    register(app)
    return app


def url(app: Flask, filename: str) -> str:
    with app.test_request_context():
        return url_for("static", filename=filename)


def test_the_tracking_page_links_every_static_file_by_its_content_hash(client, db):
    parcel = factories.make_parcel()
    html = client.get(f"/t/{parcel.tracking_number}").get_data(True)
    urls = hashed_urls(html)
    assert {"css/site.css", "img/icon.svg", "vendor/htmx.min.js"} <= urls.keys()
    for name, (_url, h) in urls.items():
        assert h == digest(STATIC / name), name
    assert 'href="/static/css/' not in html and 'src="/static/vendor/' not in html


def test_a_hashed_url_answers_with_the_file_for_a_year(client, db):
    for name in ("css/site.css", "vendor/htmx.min.js", "img/icon.svg"):
        res = client.get(f"/static/{digest(STATIC / name)}/{name}")
        assert res.status_code == 200, name
        assert res.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        assert res.data == (STATIC / name).read_bytes()
    # The CSP and the other security headers are on static files too.
    assert "script-src 'self'" in res.headers["Content-Security-Policy"]


def test_a_static_file_does_not_vary_by_cookie(client, db):
    """The session is read on every request (Flask-Login); the file is the same for everyone, so
    a new session cookie (a verification, a language) must not make the browser fetch it again."""
    parcel = factories.make_parcel()
    client.get(f"/l/{factories.make_link(parcel)}")  # a session cookie
    assert client.get_cookie("session") is not None
    name = "css/site.css"
    for path in (f"/static/{digest(STATIC / name)}/{name}", f"/static/{name}"):
        res = client.get(path)
        assert res.status_code == 200
        assert "Cookie" not in res.headers.get("Vary", ""), path
        assert "Set-Cookie" not in res.headers, path


def test_the_plain_url_still_works_and_is_revalidated(client, db):
    res = client.get("/static/css/site.css")
    assert res.status_code == 200 and res.data == (STATIC / "css/site.css").read_bytes()
    assert res.headers["Cache-Control"] == "public, no-cache"
    again = client.get("/static/css/site.css", headers={"If-None-Match": res.headers["ETag"]})
    assert again.status_code == 304


def test_a_hash_that_is_not_the_files_redirects_to_the_current_one_uncached(client, db):
    name = "css/site.css"
    res = client.get(f"/static/000000000000/{name}")
    assert res.status_code == 302
    assert res.headers["Location"] == f"/static/{digest(STATIC / name)}/{name}"
    assert res.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/static/000000000000/css/none.css",  # no such file
        "/static/css/none.css",
        "/static/000000000000/../../__init__.py",  # out of the folder
        f"/static/{'0' * 12}/",
    ],
)
def test_no_file_no_answer(client, db, path):
    assert client.get(path).status_code == 404


def test_a_changed_file_gets_a_new_url_and_the_old_one_leads_to_it(tmp_path):
    (tmp_path / "css").mkdir()
    css = tmp_path / "css" / "site.css"
    css.write_text("body { color: red }")
    before = small_app(tmp_path)
    old = url(before, "css/site.css")
    assert old == f"/static/{digest(css)}/css/site.css"

    css.write_text("body { color: darkblue }")
    # Hashed once per process: the running app keeps its URL until it is restarted (a release
    # restarts the workers) ...
    assert url(before, "css/site.css") == old
    # ... and the next process hashes the new bytes.
    after = small_app(tmp_path)
    new = url(after, "css/site.css")
    assert new == f"/static/{digest(css)}/css/site.css" != old

    client = after.test_client()
    res = client.get(new)
    assert res.status_code == 200 and res.data == b"body { color: darkblue }"
    assert res.headers["Cache-Control"] == IMMUTABLE
    moved = client.get(old)  # a page from before the release
    assert moved.status_code == 302 and moved.headers["Location"] == new


def test_in_debug_mode_an_edited_file_gets_a_new_url_at_once(tmp_path):
    """`make run`: an edited stylesheet shows on the next reload, without a restart."""
    css = tmp_path / "site.css"
    css.write_text("a {}")
    app = small_app(tmp_path, debug=True)
    first = url(app, "site.css")
    css.write_text("a { color: red }")
    assert url(app, "site.css") == f"/static/{digest(css)}/site.css" != first


def test_a_file_missing_at_start_up_keeps_its_plain_url_until_it_is_there(tmp_path):
    """vendor/htmx.min.js exists only after `make vendor`: the app starts without it."""
    app = small_app(tmp_path)
    assert url(app, "vendor/htmx.min.js") == "/static/vendor/htmx.min.js"
    assert app.test_client().get("/static/vendor/htmx.min.js").status_code == 404
    (tmp_path / "vendor").mkdir()
    js = tmp_path / "vendor" / "htmx.min.js"
    js.write_text("htmx = {}")
    assert url(app, "vendor/htmx.min.js") == f"/static/{digest(js)}/vendor/htmx.min.js"


def test_split():
    assert split("0123456789ab/css/site.css") == ("css/site.css", "0123456789ab")
    assert split("css/site.css") == ("css/site.css", None)
    assert split("0123456789ab") == ("0123456789ab", None)
    assert split("0123456789AB/site.css") == ("0123456789AB/site.css", None)


def https_server() -> str:
    """The HTTPS server block of deploy/nginx.conf."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    return conf.split("listen 443", 1)[1].split("\nserver {", 1)[0]


def test_the_nginx_config_compresses_pages_css_js_and_json():
    """Pages (and JSON) are compressed by nginx (deploy/nginx.conf): text/html is always on its
    list; the rest must be named. Static text files come compressed from the app already, and
    nginx leaves a response that has a Content-Encoding as it is."""
    server = https_server()
    directives = dict(
        re.findall(r"^\s*(gzip\w*)\s+([^;]+);", server, flags=re.MULTILINE),
    )
    assert directives["gzip"] == "on"
    assert directives["gzip_vary"] == "on"
    assert directives["gzip_proxied"] == "any"
    types = directives["gzip_types"].split()
    for kind in ("text/css", "text/javascript", "application/javascript", "application/json"):
        assert kind in types, kind


def test_the_nginx_config_sends_hsts_once():
    """On every answer of the HTTPS server (`always`: its own 502 too), and only nginx's: the
    app's own (production config) is hidden, so a browser never sees two."""
    server = https_server()
    assert re.search(
        r'^\s*add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;',
        server,
        flags=re.MULTILINE,
    )
    assert re.search(r"^\s*proxy_hide_header Strict-Transport-Security;", server, re.MULTILINE)
    # add_header is inherited only by locations without an add_header of their own.
    assert len(re.findall(r"^\s*add_header", server, flags=re.MULTILINE)) == 1


# Compressed static files (issue 22): the app picks brotli or gzip by Accept-Encoding.

CSS = "css/site.css"


def decoded(res) -> bytes:
    coding = res.headers.get("Content-Encoding")
    return {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding](res.data)


def get(client, path: str, accept: str | None = None, **headers):
    if accept is not None:
        headers["Accept-Encoding"] = accept
    return client.get(path, headers=headers)


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, deflate, br, zstd", "br"),  # Chromium over HTTPS
        ("gzip, deflate", "gzip"),  # Chromium over plain HTTP, curl --compressed without br
        ("br", "br"),
        ("BR;Q=0.5", "br"),
        ("gzip;q=0.5, br;q=0.4", "gzip"),  # the client's preference first
        ("gzip;q=0.5, br;q=0.5", "br"),  # a tie: the smaller
        ("br;q=0, gzip", "gzip"),  # q=0 is a no
        ("br;q=0, gzip;q=0", None),
        ("*", "br"),
        ("*;q=0.1, gzip", "gzip"),
        ("identity", None),
        ("deflate", None),
        ("", None),
        (None, None),
    ],
)
def test_a_text_file_comes_compressed_as_the_client_asks(client, db, accept, coding):
    path = f"/static/{digest(STATIC / CSS)}/{CSS}"
    res = get(client, path, accept)
    assert res.status_code == 200
    assert res.headers.get("Content-Encoding") == coding
    assert int(res.headers["Content-Length"]) == len(res.data)
    assert decoded(res) == (STATIC / CSS).read_bytes()
    assert res.headers["Vary"] == "Accept-Encoding"  # on the plain bytes too
    assert res.headers["Cache-Control"] == IMMUTABLE
    assert res.headers["Content-Type"] == "text/css; charset=utf-8"
    if coding:
        assert len(res.data) < (STATIC / CSS).stat().st_size / 3


def test_choose_encoding():
    def pick(header: str) -> str | None:
        return choose_encoding(parse_accept_header(header, Accept))

    assert pick("gzip, br") == "br"
    assert pick("br;q=0.9, gzip") == "gzip"
    assert pick("identity;q=0") is None  # nothing acceptable that we have: the plain bytes
    assert pick("br;q=0.001") == "br"


def test_each_encoding_has_its_own_etag_and_revalidates_to_a_304(client, db):
    path = f"/static/{digest(STATIC / CSS)}/{CSS}"
    tags = {accept: get(client, path, accept).headers["ETag"] for accept in ("br", "gzip", "")}
    assert len(set(tags.values())) == 3, tags
    for accept, etag in tags.items():
        again = get(client, path, accept, **{"If-None-Match": etag})
        assert again.status_code == 304, accept
        assert again.data == b""
        assert again.headers["Vary"] == "Accept-Encoding"
    # A brotli ETag sent with a request that now gets gzip: the gzip bytes, not a 304.
    other = get(client, path, "gzip", **{"If-None-Match": tags["br"]})
    assert other.status_code == 200 and other.headers["Content-Encoding"] == "gzip"


def test_head_and_range_describe_the_compressed_bytes(client, db):
    path = f"/static/{digest(STATIC / CSS)}/{CSS}"
    full = get(client, path, "br")
    head = client.head(path, headers={"Accept-Encoding": "br"})
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Encoding"] == "br"
    assert head.headers["Content-Length"] == full.headers["Content-Length"]
    assert head.headers["ETag"] == full.headers["ETag"]
    part = get(client, path, "br", Range="bytes=0-99")
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 0-99/{len(full.data)}"
    assert part.data == full.data[:100]


def test_the_plain_url_comes_compressed_and_revalidated_too(client, db):
    res = get(client, f"/static/{CSS}", "gzip")
    assert res.status_code == 200 and res.headers["Content-Encoding"] == "gzip"
    assert decoded(res) == (STATIC / CSS).read_bytes()
    assert res.headers["Cache-Control"] == "public, no-cache"
    again = get(client, f"/static/{CSS}", "gzip", **{"If-None-Match": res.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "name",
    ["vendor/htmx.min.js", "img/icon.svg", "js/print.js", "vendor/leaflet.css"],
)
def test_scripts_and_images_in_svg_come_compressed(client, db, name):
    res = get(client, f"/static/{digest(STATIC / name)}/{name}", "br")
    assert res.headers["Content-Encoding"] == "br", name
    assert decoded(res) == (STATIC / name).read_bytes()


def test_fonts_and_pngs_are_sent_as_they_are(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG" + b"\0" * 2000)
    (tmp_path / "a.ttf").write_bytes(b"\0" * 2000)
    client = small_app(tmp_path).test_client()
    for name in ("a.png", "a.ttf"):
        res = get(client, url(client.application, name), "br, gzip")
        assert res.status_code == 200
        assert "Content-Encoding" not in res.headers, name
        assert "Vary" not in res.headers, name


def test_a_file_compression_would_not_shrink_is_sent_as_it_is(tmp_path):
    (tmp_path / "tiny.js").write_text("x")
    client = small_app(tmp_path).test_client()
    res = get(client, "/static/tiny.js", "br, gzip")
    assert res.data == b"x" and "Content-Encoding" not in res.headers
    assert res.headers["Vary"] == "Accept-Encoding"


def test_an_edited_file_is_compressed_afresh(tmp_path):
    """`make run`: the compressed bytes follow an edited stylesheet on the next reload."""
    css = tmp_path / "site.css"
    css.write_text("a { color: red }\n" * 50)
    client = small_app(tmp_path, debug=True).test_client()
    first = get(client, url(client.application, "site.css"), "br")
    assert decoded(first) == css.read_bytes()
    css.write_text("a { color: darkblue }\n" * 50)
    second = get(client, url(client.application, "site.css"), "br")
    assert decoded(second) == css.read_bytes()
    assert second.headers["ETag"] != first.headers["ETag"]


@pytest.mark.parametrize(
    "path",
    ["/static/css/none.css", "/static/000000000000/js/none.js", "/static/../pyproject.toml"],
)
def test_no_file_no_compressed_answer_either(client, db, path):
    assert get(client, path, "br, gzip").status_code == 404


def test_a_plain_answer_is_tagged_by_its_content_on_every_host(app, client):
    """Werkzeug's ETag is the file's modification time and size: two hosts behind one load
    balancer, with the same file written at different times, would answer 200 to each other's
    revalidation. The content hash is the same everywhere."""
    digest = app.extensions["static_digests"].digest("css/site.css")
    plain = client.get("/static/css/site.css", headers={"Accept-Encoding": "identity"})
    assert plain.headers["ETag"] == f'"{digest}"'
    again = client.get(
        "/static/css/site.css",
        headers={"Accept-Encoding": "identity", "If-None-Match": f'"{digest}"'},
    )
    assert again.status_code == 304
