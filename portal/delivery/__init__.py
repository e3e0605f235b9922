"""The recipient's delivery choices: `/t/<tn>/delivery`."""

from flask import Blueprint

bp = Blueprint("delivery", __name__, template_folder="templates")

from portal.delivery import views  # noqa: E402, F401
