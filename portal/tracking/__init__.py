"""Shopper pages: the track form, the parcel page, postcode verification and signed links."""

from flask import Blueprint

bp = Blueprint("tracking", __name__, template_folder="templates")

from portal.tracking import views  # noqa: E402, F401
