"""Language choice: the switcher, then the recipient's preference, then Accept-Language."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from babel import Locale
from flask import Blueprint, current_app, g, has_request_context, redirect, request, session
from flask_babel import get_domain, get_locale
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

bp = Blueprint("i18n", __name__)


def select_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # a worker or command: messages force their own locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.blueprint == "admin" or (
        request.blueprint == "accounts" and request.path.startswith("/admin/")
    ):
        # The console speaks its account's language (CONSOLE_LANGUAGES), including the
        # customer's forms it reuses, so one page never mixes two languages.
        return console_language()
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    preferred = g.get("recipient_language") or _desk_language()
    if preferred in languages:
        return preferred
    return browser_language(languages)


# Browsers in Norway often send "no" (or Nynorsk, "nn") rather than "nb": Bokmål is the
# Norwegian we ship, and CLDR's "no" is Bokmål.
_ALIASES = {"no": "nb", "nn": "nb"}


def browser_language(languages) -> str:
    """The first language of Accept-Language, by its weights, that we ship."""
    for value, _quality in request.accept_languages:
        primary = value.split("-")[0].split("_")[0].lower()
        code = _ALIASES.get(primary, primary)
        if code in languages:
            return code
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _desk_language() -> str | None:
    """A drop-off desk's own language (set per account by a supervisor) on the desk's pages,
    where the desk hasn't picked another with the switcher."""
    user = current_user
    desk = getattr(user, "is_authenticated", False) and getattr(user, "role", None) == "dropoff"
    return getattr(user, "language", None) if desk and request.path.startswith("/dropoff") else None


def console_language() -> str:
    user = current_user
    chosen = getattr(user, "language", None) if getattr(user, "is_authenticated", False) else None
    if chosen in current_app.config["CONSOLE_LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@cache
def language_name(code: str) -> str:
    """A language in its own name, as CLDR writes it: "Svenska", "Norsk bokmål", "Suomi"."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def language_choices(codes: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in codes or current_app.config["LANGUAGES"]]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a local path. `//evil.example`, `https://…`, `/\\evil` and `/<TAB>/evil` are all
    open redirects: browsers drop tabs and newlines and read backslashes as slashes."""
    if not target or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    try:
        as_browser_reads = urlsplit(target.replace("\\", "/"))
    except ValueError:  # "//[": an unclosed IPv6 host
        return default
    if (
        as_browser_reads.scheme
        or as_browser_reads.netloc
        or not target.startswith("/")
        or target.replace("\\", "/").startswith("//")
    ):
        return default
    return target


@bp.get("/lang/<code>")
def switch(code: str) -> Response:
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")), code=303)


def translations():
    """The catalogue for the current locale, looked up once per locale per request.

    Flask-Babel resolves context, domain and locale again for every string: about a hundred
    context-local lookups on the parcel page, the largest cost of rendering it. The memo is
    keyed by the locale Flask-Babel settled on, so `force_locale` (messages rendered in the
    recipient's language) still switches catalogues.
    """
    locale = get_locale()
    memo = g.get("_translations")
    if memo is not None and memo[0] is locale:
        return memo[1]
    catalogue = get_domain().get_translations()
    g._translations = (locale, catalogue)
    return catalogue


def fast_gettext(string: str, **variables) -> str:
    text = translations().ugettext(string)
    return text % variables if variables else text


class LazyText(LazyString):
    """Flask-Babel's lazy string tells Jinja it is safe markup (`__html__` returns it as it is),
    so a form error or a refusal that carries a name, an address or a note in `%(…)s` would
    reach the page unescaped. This one escapes itself: no catalogue string holds markup."""

    def __html__(self) -> Markup:
        return escape(str(self))


def lazy_gettext(string: str, **variables) -> LazyText:
    """Like Flask-Babel's lazy_gettext, through the per-request catalogue memo, and escaped
    where a template shows it. Every lazy string of the portal is made here."""
    return LazyText(fast_gettext, string, **variables)


def install_fast_gettext(app) -> None:
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
