from flask import render_template_string
from flask_babel import force_locale

from portal.i18n import lazy_gettext, safe_next


def test_templates_follow_force_locale_within_one_request(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string("{{ _('Delivered') }}") == "Delivered"
        with force_locale("sv"):
            assert render_template_string("{{ _('Delivered') }}") == "Levererat"
            assert str(lazy_gettext("On its way")) == "På väg"
        assert render_template_string("{{ _('Delivered') }}") == "Delivered"


def test_safe_next_only_allows_local_paths():
    assert safe_next("/t/RR123456785SE") == "/t/RR123456785SE"
    for bad in (
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "",
        None,
        "javascript:x",
        "//[",  # an unclosed IPv6 host: urlsplit raises
        "/\\[::1",
    ):
        assert safe_next(bad) == "/"
