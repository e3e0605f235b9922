"""Search engines and sharing (issue 22): only the home page and /about/co2 may be indexed;
every page showing a parcel, a return, a complaint, a signed link, a person or the console says
`noindex` (header and meta tag), and /robots.txt keeps crawlers off those paths."""

from __future__ import annotations

import re

import pytest

from tests.support import factories
from tests.support.customer import Customer, make_customer


@pytest.fixture
def world(db) -> Customer:
    return make_customer()


def meta_robots(html: str) -> str | None:
    found = re.search(r'<meta name="robots" content="([^"]+)">', html)
    return found.group(1) if found else None


@pytest.mark.parametrize("path", ["/", "/about/co2"])
def test_the_public_pages_may_be_indexed(client, path):
    res = client.get(path)
    assert res.status_code == 200
    assert "X-Robots-Tag" not in res.headers
    assert meta_robots(res.get_data(as_text=True)) is None


def test_the_home_page_describes_itself(client):
    html = client.get("/").get_data(as_text=True)
    description = re.search(r'<meta name="description" content="([^"]+)">', html)
    assert description and len(description.group(1)) > 50


def private_paths(world: Customer) -> list[str]:
    tn = world.on_its_way.tracking_number
    return [
        f"/t/{tn}",
        f"/t/{tn}/verify",
        f"/l/{factories.make_link(world.delivered)}",
        f"/t/{world.delivered.tracking_number}",
        f"/t/{world.delivered.tracking_number}/return",
        f"/r/{world.ret.rma}",
        f"/c/{world.case.case_number}",
        "/me",
        "/dropoff/login",
        "/admin/login",
        "/t/RR000000000SE",  # not found: no page to index either
        f"/api/v1/parcels/{tn}",
    ]


def test_every_page_of_a_parcel_return_case_or_person_says_noindex(client, world):
    for path in private_paths(world):
        res = client.get(path, follow_redirects=True)
        assert res.headers.get("X-Robots-Tag") == "noindex, nofollow", path
        if res.mimetype == "text/html":
            assert meta_robots(res.get_data(as_text=True)) == "noindex, nofollow", path


def test_robots_txt_keeps_crawlers_off_private_paths(client):
    res = client.get("/robots.txt")
    assert res.status_code == 200 and res.mimetype == "text/plain"
    rules = res.get_data(as_text=True).splitlines()
    assert rules[0] == "User-agent: *"
    disallowed = {line.split(": ", 1)[1] for line in rules if line.startswith("Disallow: ")}
    for path in ("/t/", "/l/", "/r/", "/c/", "/track", "/me", "/admin", "/dropoff", "/api/"):
        assert path in disallowed
    assert "/" not in disallowed and "/about/co2" not in disallowed
