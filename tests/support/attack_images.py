"""Images that are tiny on the wire and huge once decoded: what issue 15 sent to burn CPU."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image


@cache
def blank_image(fmt: str, side: int = 5000) -> bytes:
    """One colour, `side` x `side`, losslessly compressed: about 1 KB as WebP, 80 KB as PNG,
    that decode into `side`² pixels (25 M for 5000). Made once per run, then reused."""
    buffer = io.BytesIO()
    save = {"lossless": True} if fmt == "WEBP" else {"optimize": True}
    Image.new("RGB", (side, side), (255, 255, 255)).save(buffer, fmt, **save)
    return buffer.getvalue()
