"""JSON API for merchants and carriers under /api/v1."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from portal.api import delivery, estimates, network, returns, views  # noqa: E402, F401
