"""What a complaint form full of decompression-bait photos costs the server (issue 15, hole 2).

Run by hand: `.venv/bin/python bench/photo_budget.py [--repeat 3]` (SQLite in a temporary
folder; with DATABASE_URL=postgresql://… on a scratch PostgreSQL database). A verified recipient
posts the complaint form in-process with:
  webp+text  four lossless 5000 x 5000 WebP files (~1 KB each) and a text file named .jpg last
  png        four 5000 x 5000 PNG files (~80 KB each)
  phone      five ordinary 12 MP phone JPEGs (4032 x 3024), which must still be taken
and prints, per batch, the request's size, its status, whether a complaint was saved, and the
CPU seconds the request cost (best of --repeat).
"""

from __future__ import annotations

import argparse
import contextvars
import io
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Messages the complaints cause go to a queue of this run's own on the local Redis, emptied at
# the end: without Redis a sender thread would write alongside the requests.
REDIS_URL = "redis://127.0.0.1:6379/14"


def phone_jpeg() -> bytes:
    """A 12 MP photo with some detail in it (noise compresses like a real scene)."""
    from PIL import Image

    image = Image.effect_noise((4032, 3024), 40).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def own_context(call, *args, **kwargs):
    """A request in a context of its own, as in production (not sharing this script's app
    context and database session); this script's transaction is ended afterwards."""
    from portal.extensions import db

    db.session.commit()
    try:
        return contextvars.Context().run(call, *args, **kwargs)
    finally:
        db.session.rollback()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import logging

    import redis
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from portal import create_app
    from portal.extensions import db
    from portal.models import Complaint, ParcelStatus
    from tests.support import factories
    from tests.support.attack_images import blank_image
    from tests.support.databases import scratch_database

    webp, png, jpeg = blank_image("WEBP"), blank_image("PNG"), phone_jpeg()
    batches = {
        "webp+text": [(webp, f"w{n}.webp") for n in range(4)] + [(b"just text\n", "notes.jpg")],
        "png": [(png, f"p{n}.png") for n in range(4)],
        "phone": [(jpeg, f"IMG_{n}.jpg") for n in range(5)],
    }
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        sys.exit("Redis is not running on 127.0.0.1:6379 (redis-server --daemonize yes)")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    queue_name = f"bench-photos-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as folder, scratch_database(Path(folder)) as url:
        app = create_app(
            {
                "ENV_NAME": "test",
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench-" + "x" * 40,
                "PUBLIC_BASE_URL": "http://portal.test",
                "UPLOAD_FOLDER": str(Path(folder) / "uploads"),
                "RATELIMIT_ENABLED": False,
                "REDIS_URL": REDIS_URL,
                "RQ_QUEUE": queue_name,
            }
        )
        with app.app_context():
            upgrade()
            print(f"{'batch':10} {'bytes':>9} {'status':>6} {'saved':>5} {'CPU s':>6}")
            for label, files in batches.items():
                best, status, saved = float("inf"), 0, 0
                for _ in range(args.repeat):
                    factories.make_zone("Stockholm", prefixes=("113",))
                    parcel = factories.make_parcel(
                        statuses=[ParcelStatus.IN_TRANSIT, ParcelStatus.DELIVERED]
                    )
                    client = app.test_client()
                    link = "/l/" + factories.make_link(parcel)
                    url_ = f"/t/{parcel.tracking_number}/complaint"
                    own_context(client.get, link)
                    page = own_context(client.get, url_).get_data(as_text=True)
                    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
                    before = db.session.scalar(select(func.count()).select_from(Complaint))
                    data = {
                        "csrf_token": token.group(1),
                        "type": "other",
                        "description": "The box was empty.",
                        "photos": [(io.BytesIO(b), name) for b, name in files],
                    }
                    started = time.thread_time()  # the request runs on this thread
                    res = own_context(
                        client.post, url_, data=data, content_type="multipart/form-data"
                    )
                    best = min(best, time.thread_time() - started)
                    status = res.status_code
                    db.session.rollback()
                    after = db.session.scalar(select(func.count()).select_from(Complaint))
                    saved = after - before
                size = sum(len(b) for b, _name in files)
                print(f"{label:10} {size:9d} {status:6d} {saved:5d} {best:6.2f}")
            from portal.notifications.handoff import queue

            queue().delete(delete_jobs=True)
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
