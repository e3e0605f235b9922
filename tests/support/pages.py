"""Reading pages and posting their forms: the CSRF token, the text a reader sees."""

from __future__ import annotations

import contextvars
import re
from html import unescape

from flask.ctx import RequestContext
from flask.testing import EnvironBuilder, FlaskClient
from flask_wtf.csrf import generate_csrf

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page the test has in hand."""
    found = _TOKEN.search(html)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


def csrf_for(client: FlaskClient) -> str:
    """A token for `client`'s session as Flask-WTF makes one for a page it renders (the secret
    kept in the client's session cookie, the token signed with the app's key), for a post whose
    page the test has no need to fetch. The post is checked by the app's real CSRF protection."""

    def make() -> str:
        # A context of its own, as a request would have: the test's `g` caches another token.
        app = client.application
        environ = EnvironBuilder(app).get_environ()
        with (
            client.session_transaction() as session,
            RequestContext(app, environ, session=session),
        ):
            return generate_csrf()

    return contextvars.Context().run(make)


def text(html: str) -> str:
    """What a reader sees: tags gone, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def verify(client: FlaskClient, parcel, postcode: str):
    """Post a postcode on the parcel's page, as the recipient does to see its details."""
    return client.post(
        f"/t/{parcel.tracking_number}/verify",
        data={"csrf_token": csrf_for(client), "postcode": postcode},
    )


def parcel_item(parcel, sku: str):
    """The parcel's order line with this SKU."""
    return next(i for i in parcel.items if i.sku == sku)


def post_return(client: FlaskClient, parcel, lines: dict, method: str = "dropoff", **extra):
    """Start a return on the parcel's return page: `lines` maps an order line to
    (quantity, reason[, note])."""
    data = {"csrf_token": csrf_for(client), "method": method, **extra}
    for parcel_item, (qty, reason, *note) in lines.items():
        data[f"qty_{parcel_item.id}"] = str(qty)
        data[f"reason_{parcel_item.id}"] = reason
        if note:
            data[f"note_{parcel_item.id}"] = note[0]
    return client.post(f"/t/{parcel.tracking_number}/return", data=data)
