"""The green mile: emission factors, CO2e estimates per delivery option, and `/about/co2`."""

from flask import Blueprint

bp = Blueprint("green", __name__, template_folder="templates")

from portal.green import views  # noqa: E402, F401
