"""Security headers on every response; the session cookie's signer."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.wrappers import Response

CSP_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
CSP = "; ".join(CSP_DIRECTIVES)


def tile_source(url_template: str) -> str:
    """The CSP source for a Leaflet tile URL template: its scheme and host (and port), with a
    `{s}` subdomain as `*` (`https://{s}.tile.example.org/...` → `https://*.tile.example.org`)."""
    parts = urlsplit(url_template)
    host = parts.netloc.replace("{s}", "*")
    if parts.scheme not in ("http", "https") or not host or "{" in host or "@" in host:
        raise ValueError(f"MAP_TILE_URL must be an http(s) URL template, not {url_template!r}")
    return f"{parts.scheme}://{host}"


@lru_cache(maxsize=4)
def map_csp(url_template: str) -> str:
    """The CSP of a page with the pickup-point map: images from the tile host as well."""
    img = f"img-src 'self' data: {tile_source(url_template)}"
    return "; ".join(img if d.startswith("img-src ") else d for d in CSP_DIRECTIVES)


def allow_map_tiles(response: Response) -> Response:
    """Pages with the pickup-point map: their CSP lets map tiles load from MAP_TILE_URL's host
    (only theirs; every other page keeps CSP). No MAP_TILE_URL, no map: CSP unchanged."""
    if url := current_app.config["MAP_TILE_URL"]:
        response.headers["Content-Security-Policy"] = map_csp(url)
    return response


# The pages a search engine may index: the home page and how CO2e is estimated (and robots.txt,
# static files and merchants' brand sheets, which are no pages). Every other page shows a
# parcel, a return, a complaint, a signed link, a person or the console: `noindex`, by header
# here and by <meta> in the templates (base.html asks noindex()). Allowed by name, so a new
# page is private until it is listed here.
INDEXABLE = frozenset(
    {"tracking.home", "pages.about_co2", "pages.robots_txt", "static", "brand.stylesheet"}
)
NOINDEX = "noindex, nofollow"


def noindex() -> bool:
    """Whether this request's page must stay out of search engines."""
    return has_request_context() and request.endpoint not in INDEXABLE


def no_store(response: Response) -> Response:
    """Pages with names, addresses, codes or photos: never kept in a shared cache."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signer made once per key instead of twice per
    request (reading the cookie, writing it): about a tenth of a small request's own time
    (issue 17). A changed SECRET_KEY or SECRET_KEY_FALLBACKS makes a new one."""

    def __init__(self) -> None:
        self._signer: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        known = self._signer
        if known is None or known[0] != keys:
            known = self._signer = (keys, super().get_signing_serializer(app))
        return known[1]


def register(app: Flask) -> None:
    app.session_interface = SessionCookies()
    if app.config["MAP_TILE_URL"]:
        map_csp(app.config["MAP_TILE_URL"])  # a MAP_TILE_URL that is no URL stops the start
    every = [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "geolocation=(), microphone=()"),
    ]
    if app.config.get("SESSION_COOKIE_SECURE"):
        every.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    names = [(name.lower(), name, value) for name, value in every]

    @app.after_request
    def headers(response: Response) -> Response:
        # One pass over the response's headers, not one per header (issue 17): a view that set
        # its own (a preview's CSP, say) keeps it.
        present = {name.lower() for name, _ in response.headers}
        for lower, name, value in names:
            if lower not in present:
                response.headers.add(name, value)
        if "x-robots-tag" not in present and noindex():
            response.headers.add("X-Robots-Tag", NOINDEX)
        return response

    app.add_template_global(noindex, "noindex")
