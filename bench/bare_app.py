"""The framework's own ceiling: a bare Flask app answering "ok", served by the same gunicorn
settings as the portal in bench/track_page.py, so the portal's figures read as ratios of it."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def ok() -> str:
    return "ok"
