"""`/me`: a recipient's own page, signed in with a one-time code (issue 19): all their parcels
across merchants, without an app and without a password."""

from flask import Blueprint

bp = Blueprint("me", __name__, template_folder="templates")

from portal.me import data, views  # noqa: E402, F401
