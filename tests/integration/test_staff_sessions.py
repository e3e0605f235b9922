"""Staff sessions end when they should (log-out, a new password), staff change their own
password, supervisors reset one with a link only its owner gets by e-mail, and the log-in page
answers alike for addresses that exist and addresses that don't (issue 15)."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import check_password_hash

from portal import create_app
from portal.extensions import db
from portal.models import Account, AuditEntry, Channel, Notification, Role
from portal.models import account as account_model
from portal.services import accounts as accounts_service
from tests.support import factories, staff
from tests.support.factories import STAFF_PASSWORD
from tests.support.messaging import run_worker
from tests.support.pages import csrf_for, csrf_token, text

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.clock(T0)  # where the `clock` fixture (tests/conftest.py) starts
NEW = "a brand new passphrase"


def password_login(client, email: str, password: str, url: str = "/admin/login"):
    return client.post(
        url, data={"csrf_token": csrf_for(client), "email": email, "password": password}
    )


def copy_of(app, client: FlaskClient) -> FlaskClient:
    """Another browser holding the same session cookie (copied off a shared computer)."""
    other = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    other.set_cookie("session", cookie.value)
    return other


def account(email: str) -> Account:
    return db.session.execute(select(Account).where(Account.email == email)).scalar_one()


def audit(action: str) -> list[AuditEntry]:
    return list(
        db.session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).scalars()
    )


def errors(html: str) -> list[str]:
    """The error texts on a page, as the server wrote them."""
    return re.findall(r'<p class="error"[^>]*>(.*?)</p>', html, re.S)


# --- log-out ---------------------------------------------------------------------------------


def test_logging_out_ends_a_copied_console_session(app):
    agent = factories.make_agent()
    browser = app.test_client()
    staff.login(browser, agent)
    copied = copy_of(app, browser)
    assert copied.get("/admin/").status_code == 200

    res = staff.post(browser, "/logout")
    assert res.status_code == 303 and res.location == "/admin/login"
    res = copied.get("/admin/")
    assert res.status_code == 302 and res.location.startswith("/admin/login")
    # Logging in again works as before, and starts a session of its own.
    staff.login(browser, agent)
    assert browser.get("/admin/").status_code == 200
    assert copied.get("/admin/").status_code == 302


def test_logging_out_ends_a_copied_drop_off_desk_session(app):
    kiosk = factories.make_dropoff_account()
    desk = app.test_client()
    assert password_login(desk, kiosk.email, STAFF_PASSWORD, "/dropoff/login").status_code == 303
    copied = copy_of(app, desk)
    assert copied.get("/dropoff").status_code == 200

    res = staff.post(desk, "/logout")
    assert res.status_code == 303 and res.location == "/dropoff/login"
    res = copied.get("/dropoff")
    assert res.status_code == 302 and res.location.startswith("/dropoff/login")


# --- the log-in page says nothing about which addresses exist -------------------------------


def test_known_and_unknown_addresses_get_the_same_answer_before_and_after_the_lock(app, clock):
    factories.make_agent("known@example.com")
    answers = {}
    for email in ("known@example.com", "unknown@example.com"):
        client = app.test_client()
        tries = [password_login(client, email, "wrong password!") for _ in range(6)]
        answers[email] = [(r.status_code, errors(r.get_data(as_text=True))) for r in tries]
        clock.shift(timedelta(minutes=2))  # past the per-IP rate limit's minute
    known, unknown = answers["known@example.com"], answers["unknown@example.com"]
    assert known == unknown
    assert all(status == 422 for status, _ in known)
    # The known one is locked now (its right password is refused too), and still says so
    # the way every failed log-in does.
    assert account("known@example.com").locked_until is not None
    locked = password_login(app.test_client(), "known@example.com", STAFF_PASSWORD)
    guess = password_login(app.test_client(), "unknown@example.com", STAFF_PASSWORD)
    assert locked.status_code == guess.status_code == 422
    assert errors(locked.get_data(as_text=True)) == errors(guess.get_data(as_text=True))
    # What the locked owner needs to know is in that one message.
    said = text(known[-1][1][0])
    assert "don't match an active account" in said
    assert "After 5 failed log-ins in a row" in said and "15 minutes" in said

    clock.shift(timedelta(minutes=16))
    assert password_login(app.test_client(), "known@example.com", STAFF_PASSWORD).status_code == 303


class HeldHasher:
    """Stands in for the password hasher: every check is counted and waits for `release`, so a
    test can look at a second attempt while the first one is in the middle of its check."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, pwhash: str, password: str) -> bool:
        self.calls += 1
        self.entered.release()
        self.release.wait(timeout=10)
        return check_password_hash(pwhash, password)


def second_attempt_waits(app, monkeypatch, email: str) -> tuple[bool, int]:
    """Two log-ins at once for `email`: whether the second waited for the first to finish (it
    did not reach its password check while the first was in its own), and how many password
    checks the two made."""
    hasher = HeldHasher()
    monkeypatch.setattr(account_model, "check_password_hash", hasher)
    clients = [app.test_client(), app.test_client()]
    tokens = [csrf_for(c) for c in clients]
    answers: list[int] = []

    def attempt(n: int) -> None:
        res = clients[n].post(
            "/admin/login",
            data={"csrf_token": tokens[n], "email": email, "password": "wrong password!"},
        )
        answers.append(res.status_code)

    first = threading.Thread(target=attempt, args=(0,))
    second = threading.Thread(target=attempt, args=(1,))
    first.start()
    try:
        assert hasher.entered.acquire(timeout=10), "the first attempt never checked a password"
        second.start()
        # Without locks the second gets there in milliseconds; with them, not before release.
        waited = not hasher.entered.acquire(timeout=1.0)
    finally:
        hasher.release.set()
        first.join(timeout=10)
        if second.ident is not None:  # started
            second.join(timeout=10)
    assert answers == [422, 422]
    return waited, hasher.calls


@pytest.mark.committed  # log-ins racing on threads
def test_concurrent_log_ins_take_turns_alike_for_known_and_unknown_addresses(app, monkeypatch):
    """Attempts on a known account take turns (so parallel guesses can't slip past the lockout);
    attempts on an address nobody has must take turns the same way, or timing two requests at
    once would tell which addresses have accounts. Each attempt checks one password hash."""
    factories.make_agent("known@example.com")
    locked = factories.make_agent("locked@example.com")
    locked.locked_until = datetime.now(UTC) + timedelta(hours=1)
    db.session.commit()

    seen = {
        email: second_attempt_waits(app, monkeypatch, email)
        for email in ("known@example.com", "locked@example.com", "unknown@example.com")
    }

    assert seen["unknown@example.com"] == seen["known@example.com"], seen
    assert seen["unknown@example.com"] == seen["locked@example.com"], seen
    assert all(calls == 2 for _, calls in seen.values()), seen
    if db.engine.dialect.name == "postgresql":
        # Row and advisory locks are PostgreSQL's; SQLite lets both read at once, alike too.
        assert all(waited for waited, _ in seen.values()), seen


def test_the_unknown_address_check_costs_what_a_real_hash_costs(monkeypatch):
    """The stand-in hash an unknown address is checked against has the method and cost a
    password set today gets in production (the tests' app hashes cheaply), so its check takes as
    long as a real one's."""
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    agent = Account(email="agent@example.com")
    with create_app({"ENV_NAME": "production"}).app_context():
        agent.set_password(STAFF_PASSWORD)
        stand_in = accounts_service.stand_in_hash()
    method = agent.password_hash.split("$", 1)[0]
    assert method.startswith("scrypt:")
    assert stand_in.split("$", 1)[0] == method


# --- changing one's own password -------------------------------------------------------------

PASSWORD_PAGE = "/admin/account/password"


def change(client, data: dict, url: str = PASSWORD_PAGE):
    return staff.post(client, url, data)


def test_an_agent_changes_their_password_and_their_other_sessions_end(app, clock):
    agent = factories.make_agent()
    laptop, phone = app.test_client(), app.test_client()
    staff.login(laptop, agent)
    staff.login(phone, agent)
    assert f'href="{PASSWORD_PAGE}"' in laptop.get("/admin/").get_data(as_text=True)
    page = laptop.get(PASSWORD_PAGE).get_data(as_text=True)
    assert 'autocomplete="current-password"' in page and 'name="code"' not in page

    res = change(laptop, {"current_password": "wrong password!", "password": NEW, "confirm": NEW})
    assert res.status_code == 422
    assert "isn't your current password" in text(res.get_data(as_text=True))
    res = change(laptop, {"current_password": STAFF_PASSWORD, "password": NEW, "confirm": "typo"})
    assert res.status_code == 422 and "don't match" in text(res.get_data(as_text=True))
    res = change(
        laptop, {"current_password": STAFF_PASSWORD, "password": "short", "confirm": "short"}
    )
    assert res.status_code == 422 and "at least 12 characters" in text(res.get_data(as_text=True))
    assert audit("account.password") == []

    res = change(laptop, {"current_password": STAFF_PASSWORD, "password": NEW, "confirm": NEW})
    assert res.status_code == 303
    assert "Your password is changed" in text(laptop.get(res.location).get_data(as_text=True))
    assert laptop.get("/admin/").status_code == 200  # this session carries on …
    assert phone.get("/admin/").status_code == 302  # … every other one has ended
    assert password_login(app.test_client(), agent.email, STAFF_PASSWORD).status_code == 422
    assert password_login(app.test_client(), agent.email, NEW).status_code == 303
    [entry] = audit("account.password")
    assert entry.actor == agent.email and entry.subject == f"account:{agent.id}"
    assert entry.after == {"via": "own form", "sessions_ended": True}
    assert NEW not in f"{entry.before} {entry.after}"
    # The wrong current password above counted towards the lockout, like a failed log-in;
    # the change started the count again.
    assert account(agent.email).failed_logins == 0


def test_wrong_current_passwords_lock_the_account_like_log_ins_do(app, clock):
    agent = factories.make_agent()
    client = app.test_client()
    staff.login(client, agent)
    for _ in range(5):
        res = change(client, {"current_password": "guess guess!", "password": NEW, "confirm": NEW})
        assert res.status_code == 422
    assert "locked" in text(res.get_data(as_text=True))
    res = change(client, {"current_password": STAFF_PASSWORD, "password": NEW, "confirm": NEW})
    assert res.status_code == 422 and "locked" in text(res.get_data(as_text=True))
    assert account(agent.email).check_password(STAFF_PASSWORD)


def test_with_two_step_log_in_the_change_needs_a_code_too(app, clock):
    boss = factories.make_agent("boss@example.com", role=Role.SUPERVISOR)
    client = app.test_client()
    staff.login(client, boss)
    page = client.get(PASSWORD_PAGE).get_data(as_text=True)
    assert 'name="code"' in page and 'autocomplete="one-time-code"' in page
    form = {"current_password": STAFF_PASSWORD, "password": NEW, "confirm": NEW}
    res = change(client, form)
    assert res.status_code == 422 and "Enter the code" in text(res.get_data(as_text=True))
    res = change(client, {**form, "code": "000000"})
    assert res.status_code == 422 and "isn't right" in text(res.get_data(as_text=True))
    clock.shift(timedelta(seconds=30))
    res = change(client, {**form, "code": staff.totp_code(boss)})
    assert res.status_code == 303
    assert client.get("/admin/agents").status_code == 200
    assert account(boss.email).check_password(NEW)


def test_a_drop_off_desk_changes_its_password_at_the_desk(app, clock):
    kiosk = factories.make_dropoff_account()
    desk = app.test_client()
    password_login(desk, kiosk.email, STAFF_PASSWORD, "/dropoff/login")
    assert 'href="/dropoff/password"' in desk.get("/dropoff").get_data(as_text=True)
    page = desk.get("/dropoff/password").get_data(as_text=True)
    assert "Accept a return" not in page and 'lang="en"' in page
    res = change(
        desk,
        {"current_password": STAFF_PASSWORD, "password": NEW, "confirm": NEW},
        "/dropoff/password",
    )
    assert res.status_code == 303 and res.location == "/dropoff"
    assert desk.get("/dropoff").status_code == 200
    assert account(kiosk.email).check_password(NEW)
    # In Swedish, as the desk's other pages are.
    desk.get("/lang/sv")
    assert "Byt lösenord" in text(desk.get("/dropoff/password").get_data(as_text=True))


# --- supervisors: a set-password link, never a password ------------------------------------


def mailed_link(app, messaging, email: str) -> str:
    """The set-password link in the newest e-mail to `email`, as the worker sent it."""
    run_worker(app)
    mails = [m for m in messaging.smtp.messages if m["To"] == email]
    assert mails, [m["To"] for m in messaging.smtp.messages]
    body = mails[-1].get_body(("plain",)).get_content()
    return re.search(r"http://portal\.test(/set-password/\S+)", body).group(1)


def set_password(client, link: str, password: str, confirm: str | None = None):
    # The session's token (a dead link's page has no form): the POST reaches the link check.
    return client.post(
        link,
        data={
            "csrf_token": csrf_for(client),
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
    )


@pytest.fixture
def supervisor(app):
    client = app.test_client()
    staff.login(client, factories.make_agent("boss@example.com", role=Role.SUPERVISOR))
    return client


def test_a_supervisor_resets_a_password_with_a_link_only_its_owner_gets(app, messaging, supervisor):
    agent = factories.make_agent(totp=True)
    agents_desk = app.test_client()
    staff.login(agents_desk, agent)
    url = f"/admin/agents/{agent.id}"
    page = supervisor.get(url).get_data(as_text=True)
    assert "Reset password" in page and 'type="password"' not in page

    # The form's token from the page the test already has in hand.
    res = supervisor.post(f"{url}/password-reset", data={"csrf_token": csrf_token(page)})
    assert res.status_code == 303
    shown = supervisor.get(res.location).get_data(as_text=True)
    assert "set-password link" in text(shown) and agent.email in text(shown)
    assert "/set-password/" not in shown
    # The old password and every session end at once.
    assert agents_desk.get("/admin/").status_code == 302
    assert password_login(app.test_client(), agent.email, STAFF_PASSWORD).status_code == 422
    [entry] = audit("account.password_reset")
    assert entry.actor == "boss@example.com" and entry.subject == f"account:{agent.id}"

    link = mailed_link(app, messaging, agent.email)
    owner = app.test_client()
    page = owner.get(link)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    assert agent.email in text(page.get_data(as_text=True))
    res = set_password(owner, link, NEW, "typo")
    assert res.status_code == 422 and "don't match" in text(res.get_data(as_text=True))
    res = set_password(owner, link, "short")
    assert res.status_code == 422 and "at least 12 characters" in text(res.get_data(as_text=True))
    res = set_password(owner, link, NEW)
    assert res.status_code == 303 and res.location == "/admin/login"
    assert "Your password is set" in text(owner.get(res.location).get_data(as_text=True))

    # Used once: the link is dead now, for the owner and anyone who saw the e-mail.
    again = owner.get(link)
    assert again.status_code == 404
    assert "ask a supervisor for a new one" in text(again.get_data(as_text=True))
    assert set_password(app.test_client(), link, "someone else's pass").status_code == 404
    # The second step stays as it was: the new password still needs the app's code.
    staff.login(owner, agent, NEW)
    assert owner.get("/admin/").status_code == 200
    assert account(agent.email).totp_secret is not None
    [changed] = audit("account.password")
    assert changed.actor == agent.email
    assert changed.after == {"via": "set-password link", "sessions_ended": True}


def password_mails(email: str) -> list[Notification]:
    return list(
        db.session.execute(
            select(Notification)
            .where(Notification.recipient == email, Notification.trigger == "staff_password_link")
            .order_by(Notification.id)
        ).scalars()
    )


@pytest.mark.parametrize("new", [False, True], ids=["reset", "new account"])
def test_the_outbox_keeps_no_working_link_once_the_mail_is_sent(app, messaging, supervisor, new):
    """The owner's e-mail has the link; the copy kept in the outbox, which the database's
    readers and the message views see, no longer has it once the e-mail has gone."""
    if new:
        email = "new.agent@example.com"
        staff.post(supervisor, "/admin/agents", {"email": email, "name": "Nils", "role": "agent"})
    else:
        email = factories.make_agent().email
        url = f"/admin/agents/{account(email).id}"
        staff.post(supervisor, f"{url}/password-reset")

    link = mailed_link(app, messaging, email)
    token = link.removeprefix("/set-password/")
    [kept] = password_mails(email)
    assert kept.state.value == "sent"
    assert token not in kept.body and "/set-password/" not in kept.body
    assert "link removed" in kept.body and kept.body.startswith("Hello ")
    # What the owner got still works.
    assert set_password(app.test_client(), link, NEW).status_code == 303


def test_without_smtp_the_development_outbox_keeps_the_link_to_use(app, redis_queue, supervisor):
    """`make run` sends no mail: the development outbox is the only copy of the link, so it
    keeps it there for whoever runs the demo to open."""
    assert not app.config.get("SMTP_HOST")
    email = factories.make_agent().email
    url = f"/admin/agents/{account(email).id}"
    staff.post(supervisor, f"{url}/password-reset")
    run_worker(app)
    [kept] = password_mails(email)
    assert kept.state.value == "sent"
    link = re.search(r"http://portal\.test(/set-password/\S+)", kept.body).group(1)
    assert set_password(app.test_client(), link, NEW).status_code == 303


def test_a_set_password_link_expires_is_replaced_by_a_newer_one_and_unlocks(
    app, messaging, supervisor
):
    agent = factories.make_agent()
    url = f"/admin/agents/{agent.id}"
    for _ in range(5):
        password_login(app.test_client(), agent.email, "wrong password!")
    assert account(agent.email).locked_until is not None
    staff.post(supervisor, f"{url}/password-reset")
    first = mailed_link(app, messaging, agent.email)
    staff.post(supervisor, f"{url}/password-reset")
    second = mailed_link(app, messaging, agent.email)
    assert first != second
    assert app.test_client().get(first).status_code == 404  # the newer link replaced it

    with time_machine.travel(datetime.now(UTC) + timedelta(hours=25), tick=False):
        assert app.test_client().get(second).status_code == 404
    assert set_password(app.test_client(), second, NEW).status_code == 303
    assert account(agent.email).locked_until is None
    assert password_login(app.test_client(), agent.email, NEW).status_code == 303


def test_a_deactivated_account_can_not_use_its_link(app, messaging, supervisor):
    agent = factories.make_agent()
    url = f"/admin/agents/{agent.id}"
    staff.post(supervisor, f"{url}/password-reset")
    link = mailed_link(app, messaging, agent.email)
    staff.post(supervisor, f"{url}/deactivate")
    assert set_password(app.test_client(), link, NEW).status_code == 404


def test_a_new_account_sets_its_own_password_from_the_e_mail(app, messaging, supervisor):
    page = supervisor.get("/admin/agents").get_data(as_text=True)
    assert 'type="password"' not in page
    res = staff.post(
        supervisor,
        "/admin/agents",
        {"email": "New.Agent@Example.com", "name": "Nils", "role": "agent", "place": ""},
    )
    assert res.status_code == 303
    shown = supervisor.get(res.location).get_data(as_text=True)
    assert "/set-password/" not in shown and "e-mailed" in text(shown)
    mail = db.session.execute(
        select(Notification).where(Notification.recipient == "new.agent@example.com")
    ).scalar_one()
    assert mail.channel is Channel.EMAIL and mail.parcel_id is None

    link = mailed_link(app, messaging, "new.agent@example.com")
    newcomer = app.test_client()
    assert set_password(newcomer, link, NEW).status_code == 303
    assert password_login(newcomer, "new.agent@example.com", NEW).status_code == 303
    assert newcomer.get("/admin/").status_code == 200


def test_the_password_pages_send_strangers_to_the_right_log_in(client):
    res = client.get(PASSWORD_PAGE)
    assert res.status_code == 302 and res.location == f"/admin/login?next={PASSWORD_PAGE}"
    res = client.get("/dropoff/password")
    assert res.status_code == 302 and res.location == "/dropoff/login?next=/dropoff/password"
