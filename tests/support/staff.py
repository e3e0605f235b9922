"""Staff in tests: log a test client in as an agent, supervisor or drop-off desk."""

from __future__ import annotations

import pyotp
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Account
from portal.models.types import utcnow
from tests.support import factories
from tests.support.pages import csrf_for


def totp_code(account: Account) -> str:
    """A code the account hasn't used yet: the current one, or the next step's when this
    step's is used up (the server accepts one step either side)."""
    account = db.session.get(Account, account.id)
    db.session.refresh(account)
    totp = pyotp.TOTP(account.totp_secret)
    step = totp.timecode(utcnow())
    if account.totp_last_step is not None and account.totp_last_step >= step:
        step = account.totp_last_step + 1
    return totp.generate_otp(step)


def login(client: FlaskClient, account: Account, password: str = factories.STAFF_PASSWORD) -> None:
    """Log in through the real form (and its second step where the account has one), with the
    token the form would carry but without fetching the pages."""
    res = client.post(
        "/admin/login",
        data={"csrf_token": csrf_for(client), "email": account.email, "password": password},
    )
    assert res.status_code == 303, res.get_data(as_text=True)[:500]
    if res.location.startswith("/admin/login/code"):
        res = client.post(
            res.location, data={"csrf_token": csrf_for(client), "code": totp_code(account)}
        )
        assert res.status_code == 303, res.get_data(as_text=True)[:500]


def post(client: FlaskClient, url: str, data: dict | None = None, **kw):
    """POST a console form with the CSRF token its page would carry, without fetching the page.
    (A test that needs the page, or has it in hand, reads the token from it: `csrf_token`.)"""
    return client.post(url, data={"csrf_token": csrf_for(client), **(data or {})}, **kw)
