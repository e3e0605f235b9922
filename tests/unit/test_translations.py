"""Every customer-facing string in the code is translated into every customer language, with
its placeholders intact, and each language keeps a glossary of the parcel words it uses."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from portal.config import Config
from portal.i18n import lazy_gettext
from tests.support.catalogues import extracted, translated

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [code for code in Config.LANGUAGES if code != Config.BABEL_DEFAULT_LOCALE]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# The glossary's terms (issue 20): each language names its word for every one of them.
GLOSSARY_TERMS = (
    "parcel",
    "pickup point",
    "locker",
    "return",
    "complaint",
    "green day",
    "safe place",
)


@pytest.fixture(scope="module")
def wanted(tmp_path_factory) -> set[str]:
    """The customer domain's strings as `make messages` extracts them (the console's own
    strings, under admin/ and console/, are the `console` domain's)."""
    found = extracted(tmp_path_factory.mktemp("pot"), "portal", ignore_dirs=".* ._ admin console")
    assert found, "extraction found no strings: babel.cfg is broken"
    return found


def catalogue(language: str):
    with (ROOT / f"portal/translations/{language}/LC_MESSAGES/messages.po").open("rb") as f:
        return read_po(f)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogue_covers_every_string_in_the_code(wanted, language):
    assert sorted(wanted - translated(language), key=str) == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_every_placeholder(language):
    """A lost `%(day)s` drops the date from the sentence; a misspelt one is a KeyError."""
    wrong = []
    for m in catalogue(language):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            if text and set(PLACEHOLDER.findall(text)) != expected:
                wrong.append((ids[0], text))
    assert wrong == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_language_has_a_glossary_of_the_parcel_words(language):
    glossary = (ROOT / f"portal/translations/{language}/glossary.md").read_text().lower()
    assert [term for term in GLOSSARY_TERMS if term not in glossary] == []


def test_no_gettext_call_hides_inside_an_f_string():
    """Extraction can't see `_("…")` written inside an f-string (Python 3.11 reads the whole
    f-string as one token): the text would never reach a catalogue and stay English."""
    hidden = []
    for path in (ROOT / "portal").rglob("*.py"):
        with path.open("rb") as f:
            for token in tokenize.tokenize(f.readline):
                if token.type != tokenize.STRING:
                    continue
                prefix = re.match(r"[A-Za-z]*", token.string).group(0).lower()
                if "f" in prefix and re.search(r"\b(_|_l|gettext|ngettext)\(", token.string):
                    hidden.append(f"{path.relative_to(ROOT)}:{token.start[0]}")
    assert hidden == []


def test_a_lazy_string_escapes_what_it_carries(app):
    """A refusal naming a point, a person or a note, shown by a template, is text, not markup."""
    with app.test_request_context():
        message = lazy_gettext("%(name)s has closed: choose another pickup point.", name="<b>x</b>")
        page = app.jinja_env.from_string("<p>{{ m }}</p>").render(m=message)
    assert page == "<p>&lt;b&gt;x&lt;/b&gt; has closed: choose another pickup point.</p>"
