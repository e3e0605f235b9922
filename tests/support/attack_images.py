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


@cache
def progressive_jpeg(width: int, height: int, extra_scans: int = 0) -> bytes:
    """One colour, `width` x `height`, saved progressive (about 4 KB a million pixels): a
    decoder keeps every coefficient at full size until the last scan, however small it is asked
    to draw. `extra_scans` repeats its last scan that many times: each is about 14 bytes on the
    wire and another pass over every block of the picture."""
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, "JPEG", progressive=True, quality=60)
    data = buffer.getvalue()
    if not extra_scans:
        return data
    # The last SOS marker up to EOI is the last scan: header and entropy-coded data.
    last = data.rindex(b"\xff\xda")
    end = data.rindex(b"\xff\xd9")
    return data[:end] + data[last:end] * extra_scans + data[end:]


@cache
def animation(fmt: str, side: int, frames: int) -> bytes:
    """An animated WebP or PNG of `frames` frames of `side` x `side`, each a different colour."""
    buffer = io.BytesIO()
    images = [Image.new("RGB", (side, side), (40 * n % 256, 80, 160)) for n in range(frames)]
    save = {"lossless": True} if fmt == "WEBP" else {}
    images[0].save(buffer, fmt, save_all=True, append_images=images[1:], **save)
    return buffer.getvalue()
