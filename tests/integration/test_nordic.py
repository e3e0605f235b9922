"""Norway, Denmark and Finland as Sweden works today (issue 20): postcodes and phone numbers by
each country's rules, S10 numbers of their posts, local time zones and public holidays, dates,
times and money as each language writes them, and a demo to try it all."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal import s10
from portal.contact import valid_postcode
from portal.extensions import db
from portal.formatting import eta_window, local_datetime, money
from portal.gsm7 import is_gsm7, segments
from portal.localtime import format_day
from portal.models import Notification, Parcel, PickupPoint, Zone
from portal.services.calendar import is_working_day, public_holiday
from tests.support import factories, me, pages, staff
from tests.support.api import parcel_body
from tests.support.pages import text

# A recipient in each capital, written as a shop in that country types the address.
RECIPIENTS = {
    "NO": {"postcode": "0150", "city": "Oslo", "phone": "412 34 567", "language": "nb"},
    "DK": {"postcode": "DK-2100", "city": "København Ø", "phone": "20 12 34 56", "language": "da"},
    "FI": {"postcode": "00100", "city": "Helsinki", "phone": "040 123 4567", "language": "fi"},
}


@pytest.mark.parametrize(
    ("country", "raw", "stored"),
    [
        ("SE", "11348", "113 48"),
        ("SE", "SE-113 48", "113 48"),
        ("NO", "0150", "0150"),
        ("NO", "NO-0150", "0150"),
        ("DK", "DK-2100", "2100"),
        ("FI", "FI-00100", "00100"),
        ("FI", "００１００", "00100"),  # full-width digits typed on a phone
        ("DE", "10115", "10115"),  # elsewhere: as given
    ],
)
def test_postcodes_are_written_as_each_countrys_post_writes_them(country, raw, stored):
    assert valid_postcode(raw, country) == stored


@pytest.mark.parametrize(
    ("country", "raw", "says"),
    [
        ("NO", "150", "Norwegian postcode: 4 digits, like 0150"),
        ("DK", "21000", "Danish postcode: 4 digits, like 2100"),
        ("FI", "0010", "Finnish postcode: 5 digits, like 00100"),
        ("SE", "113 4", "Swedish postcode: 5 digits, like 113 48"),
        ("NO", "OSLO", "Norwegian postcode"),
    ],
)
def test_a_wrong_postcode_says_what_the_country_expects(country, raw, says):
    with pytest.raises(ValueError, match=says):
        valid_postcode(raw, country)


@pytest.mark.parametrize("country", ["NO", "DK", "FI"])
def test_the_api_stores_a_nordic_recipient_by_the_countrys_rules(merchant_api, country):
    factories.make_carrier("Baltic Express")
    given = RECIPIENTS[country]
    res = merchant_api.post(
        "/api/v1/parcels", json=parcel_body("Baltic Express", country=country, **given)
    )
    assert res.status_code == 201, res.json
    recipient = res.json["recipient"]
    assert recipient["postcode"] == valid_postcode(given["postcode"], country)
    assert recipient["phone"].startswith({"NO": "+47", "DK": "+45", "FI": "+358"}[country])
    assert res.json["recipient"]["language"] == given["language"]


def test_the_api_refuses_a_postcode_the_country_does_not_have(merchant_api):
    factories.make_carrier("Baltic Express")
    body = parcel_body("Baltic Express", country="NO", postcode="01500", city="Oslo")
    res = merchant_api.post("/api/v1/parcels", json=body)
    assert res.status_code == 422
    error = res.json["error"]
    assert error["field"] == "recipient.postcode"
    assert "Norwegian postcode" in error["message"]


def test_delivery_options_check_the_postcode_by_the_country_given(merchant_api):
    res = merchant_api.get("/api/v1/delivery-options?postcode=123&country=DK")
    assert res.status_code == 422
    assert res.json["error"]["field"] == "postcode"
    assert "Danish postcode: 4 digits" in res.json["error"]["message"]


@pytest.mark.parametrize("country", ["NO", "DK", "FI"])
def test_s10_numbers_of_the_nordic_posts_are_accepted(country):
    number = s10.generate("LM", country)
    assert number.endswith(country) and s10.is_valid(number)


def test_a_parcel_outside_the_network_keeps_its_countrys_time_zone(db):
    parcel = factories.make_parcel(postcode="00100", city="Helsinki")
    parcel.country = "FI"
    assert parcel.zone is None and parcel.time_zone == "Europe/Helsinki"
    parcel.country = "NO"
    assert parcel.time_zone == "Europe/Oslo"


@pytest.mark.parametrize(
    ("country", "day", "language", "name"),
    [
        ("NO", date(2026, 5, 17), "nb", "Grunnlovsdag"),
        ("DK", date(2026, 4, 2), "da", "Skærtorsdag"),
        ("FI", date(2026, 12, 6), "fi", "Itsenäisyyspäivä"),
        ("FI", date(2026, 12, 6), "sv", "Självständighetsdagen"),  # Finland's Swedish
        ("NO", date(2026, 5, 17), "en", "Constitution Day"),
    ],
)
def test_public_holidays_of_each_country_in_the_readers_language(country, day, language, name):
    assert public_holiday(country, day, language) == name


def test_a_zone_in_oslo_closes_on_norways_holidays_not_swedens(db):
    oslo = factories.make_zone("Oslo", country="NO", tz="Europe/Oslo", prefixes=("0",))
    assert not is_working_day(oslo.country, date(2026, 5, 17))  # Grunnlovsdag, a Sunday too
    assert not is_working_day(oslo.country, date(2026, 5, 14))  # Kristi himmelfartsdag
    assert is_working_day(oslo.country, date(2026, 6, 19))  # Midsommarafton: Swedish only
    assert not is_working_day("SE", date(2026, 6, 6))  # Sweden's national day, a Saturday
    assert is_working_day(oslo.country, date(2026, 6, 8))


@pytest.mark.parametrize(
    ("language", "currency", "day", "written", "window"),
    [
        ("en", "SEK", "Wednesday 2 December", "SEK\xa01,249.50", "14:00–16:00"),
        ("sv", "SEK", "onsdag 2 december", "1\xa0249,50\xa0kr", "14:00–16:00"),
        ("nb", "NOK", "onsdag 2. desember", "1\xa0249,50\xa0kr", "14:00–16:00"),
        ("da", "DKK", "onsdag den 2. december", "1.249,50\xa0kr.", "14.00–16.00"),
        ("fi", "EUR", "keskiviikko 2. joulukuuta", "1\xa0249,50\xa0€", "15.00–17.00"),
    ],
)
def test_dates_times_and_money_as_each_language_writes_them(
    app, language, currency, day, written, window
):
    start, end = datetime(2026, 12, 2, 13, tzinfo=UTC), datetime(2026, 12, 2, 15, tzinfo=UTC)
    tz = "Europe/Helsinki" if language == "fi" else "Europe/Stockholm"
    with app.test_request_context(), force_locale(language):
        assert format_day(date(2026, 12, 2)) == day
        assert money("1249.50", currency).replace("\u202f", "\xa0") == written
        assert eta_window(start, end, tz) == f"{day}, {window}"
        assert local_datetime(start, tz).endswith(window.split("–")[0])


def test_the_language_switcher_names_every_language_in_its_own_words(client):
    html = client.get("/").get_data(as_text=True)
    nav = re.search(r'<nav aria-label="Language".*?</nav>', html, re.S).group(0)
    assert [name for name in ("English", "Svenska", "Norsk bokmål", "Dansk", "Suomi")] == [
        text(a).strip() for a in re.findall(r"<a [^>]*>.*?</a>", nav, re.S)
    ]
    assert 'lang="nb"' in nav and 'lang="fi"' in nav


@pytest.mark.parametrize(
    ("language", "heading"),
    [("nb", "Bestilling mottatt"), ("da", "Ordre modtaget"), ("fi", "Tilaus vastaanotettu")],
)
def test_a_recipients_language_opens_their_parcel_in_it(client, db, language, heading):
    parcel = factories.make_parcel(language=language)
    token = factories.make_link(parcel)
    page = client.get(f"/l/{token}", follow_redirects=True).get_data(as_text=True)
    assert f'<html lang="{language}">' in page
    assert heading.lower() in text(page).lower()


def test_seed_demo_has_recipients_in_oslo_copenhagen_and_helsinki(app, client):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    zones = {z.name: z for z in db.session.execute(select(Zone)).scalars()}
    assert zones["Oslo"].time_zone == "Europe/Oslo" and zones["Oslo"].country == "NO"
    assert zones["København"].time_zone == "Europe/Copenhagen"
    assert zones["Helsinki"].time_zone == "Europe/Helsinki"
    countries = set(db.session.execute(select(PickupPoint.country)).scalars())
    assert {"NO", "DK", "FI"} <= countries
    languages = {
        p.country: p.language
        for p in db.session.execute(select(Parcel).where(Parcel.country != "SE")).scalars()
    }
    assert languages == {"NO": "nb", "DK": "da", "FI": "fi"}
    # The printed links open each recipient's parcel in their own language.
    for language in ("nb", "da", "fi"):
        line = next(
            ln for ln in result.output.splitlines() if f" {language} " in ln and "/l/" in ln
        )
        link = re.search(r"signed link: http://portal.test(/l/\S+)", line).group(1)
        fresh = app.test_client()  # a phone that never chose a language on the site
        page = fresh.get(link, follow_redirects=True).get_data(as_text=True)
        assert f'<html lang="{language}">' in page


@pytest.mark.parametrize(
    ("language", "typed", "number"),
    [
        ("nb", "412 34 567", "+4741234567"),
        ("da", "20 12 34 56", "+4520123456"),
        ("fi", "040 123 4567", "+358401234567"),
        ("sv", "070-123 45 67", "+46701234567"),
    ],
)
def test_me_reads_a_national_number_in_the_pages_country(client, db, language, typed, number):
    client.get(f"/lang/{language}")
    assert me.ask_code(client, typed).status_code == 303
    code_sms = db.session.execute(
        select(Notification).where(Notification.recipient == number)
    ).scalar_one()
    assert is_gsm7(code_sms.body) and segments(code_sms.body) == 1
    assert me.sent_code(number) in code_sms.body


@pytest.mark.parametrize(
    ("typed", "opens"), [("DK-2100", True), ("dk 2100", True), ("2100", True), ("DK-2200", False)]
)
def test_the_postcode_check_takes_the_countrys_prefix(client, db, typed, opens):
    parcel = factories.make_parcel(postcode="2100", city="København Ø")
    parcel.country = "DK"
    db.session.commit()
    res = pages.verify(client, parcel, typed)
    page = client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)
    assert (parcel.recipient_name in page) is opens, res.status_code


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("no", "nb"),
        ("no-NO,no;q=0.9", "nb"),
        ("nn-NO,nn;q=0.9,no;q=0.8", "nb"),
        ("da-DK,da;q=0.9,en;q=0.8", "da"),
        ("fi-FI", "fi"),
        ("de-DE,sv;q=0.5", "sv"),
        ("de-DE", "en"),
    ],
)
def test_the_browsers_language_picks_the_page_language(client, header, language):
    html = client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f'<html lang="{language}">' in html


def test_the_api_takes_no_as_norwegian(merchant_api):
    factories.make_carrier("Baltic Express")
    body = parcel_body("Baltic Express", **RECIPIENTS["NO"] | {"language": "no"}, country="NO")
    res = merchant_api.post("/api/v1/parcels", json=body)
    assert res.status_code == 201, res.json
    assert res.json["recipient"]["language"] == "nb"


def test_a_drop_off_desk_works_in_its_accounts_language(client, db):
    desk = factories.make_dropoff_account()
    desk.language = "sv"
    db.session.commit()
    staff.login(client, desk)
    page = client.get("/dropoff", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="sv">' in page
    client.get("/lang/en")  # the desk's own pick, for this session
    assert '<html lang="en">' in client.get("/dropoff").get_data(as_text=True)


POINTS_HEADER = (
    "external_id,carrier,name,type,address_line,postcode,city,country,latitude,longitude,"
    "opening_hours,capacity\n"
)


def test_imported_pickup_points_keep_their_postcode_as_the_country_writes_it(app, tmp_path):
    factories.make_carrier("Baltic Express")
    rows = (
        "BE-1,Baltic Express,Odenplan,pickup_point,Odenplan 1,11322,Stockholm,SE,59.3,18,24/7,\n"
        "BE-2,Baltic Express,Oslo S,pickup_point,Gate 1,NO-0154,Oslo,NO,59.9,10.7,24/7,\n"
    )
    path = tmp_path / "points.csv"
    path.write_text(POINTS_HEADER + rows, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["network", "import", "pickup-points", str(path)])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    stored = dict(db.session.execute(select(PickupPoint.external_id, PickupPoint.postcode)).all())
    assert stored == {"BE-1": "113 22", "BE-2": "0154"}

    path.write_text(
        POINTS_HEADER
        + "BE-3,Baltic Express,Kiosk,pickup_point,Gate 1,150,Oslo,NO,59.91,10.75,24/7,\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["network", "import", "pickup-points", str(path)])
    assert result.exit_code == 1
    assert "line 2: postcode: is not a postcode of NO: 4 digits, like 0150" in result.output


def test_a_postcode_that_widens_past_its_column_is_a_row_error_not_a_crash(app, tmp_path):
    """NFKC turns each "㍱" into "hPa": 13 characters as typed, 19 as they would be stored."""
    factories.make_carrier("Baltic Express")
    path = tmp_path / "points.csv"
    path.write_text(
        POINTS_HEADER
        + "BE-4,Baltic Express,Kiosk,pickup_point,Str 1,㍱ - ㍱ - ㍱ - 1,Berlin,DE,52,13,24/7,\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["network", "import", "pickup-points", str(path)])
    assert result.exit_code == 1, result.output
    assert "line 2: postcode: is longer than 16 characters" in result.output
