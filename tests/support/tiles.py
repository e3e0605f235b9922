"""A stand-in map tile server for the pickup-point map's browser tests: one small PNG for every
tile (or 404s, `failing = True`), on 127.0.0.1, so that no test asks the internet for a map."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw


def tile_png() -> bytes:
    """A 256 px tile that looks enough like a street map to judge a screenshot by."""
    image = Image.new("RGB", (256, 256), (236, 232, 222))
    draw = ImageDraw.Draw(image)
    draw.rectangle((150, 20, 240, 110), fill=(205, 228, 190))  # a park
    for x in (0, 128):
        draw.line((x, 0, x, 256), fill=(255, 255, 255), width=9)
    for y in (64, 192):
        draw.line((0, y, 256, y), fill=(255, 255, 255), width=9)
    draw.line((0, 256, 256, 0), fill=(250, 214, 140), width=7)  # a main road
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class TileServer:
    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.failing = False
        self.requests: list[str] = []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def url(self) -> str:
        """For MAP_TILE_URL."""
        return self.origin + "/{z}/{x}/{y}.png"


@contextmanager
def tile_server() -> Iterator[TileServer]:
    png = tile_png()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            tiles.requests.append(self.path)
            if tiles.failing:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tiles = TileServer(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tiles
    finally:
        server.shutdown()
        server.server_close()
