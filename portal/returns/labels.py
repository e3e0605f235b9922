"""The return label: a QR code holding the drop-off code, with the return tracking number and
the merchant's return address in text. One layout, drawn as SVG (screens, printing) and PNG
(saving to a phone's photos, e-mail attachments). Its words are in the recipient's language,
which the service point in their country reads too."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import qrcode
from flask_babel import gettext as _
from flask_babel import ngettext
from PIL import Image, ImageDraw, ImageFont

from portal.models import Return, ReturnMethod

logger = logging.getLogger(__name__)

# A6 portrait, in millimetres; the PNG is drawn at 300 dpi.
WIDTH_MM, HEIGHT_MM = 105, 148
DPI = 300
QR_MM = 62


@dataclass
class LabelText:
    heading: str
    merchant: str
    code: str  # the drop-off code, grouped for reading
    tracking_number: str
    rma: str
    address: list[str]
    locker_code: str | None
    items: str


def label_text(ret: Return) -> LabelText:
    merchant = ret.merchant
    address = [merchant.name, *(merchant.return_address or "").split("\n")]
    code = ret.dropoff_code
    quantity = sum(i.quantity for i in ret.items)
    return LabelText(
        heading=_("RETURN"),
        merchant=merchant.name,
        code=" ".join(code[i : i + 4] for i in range(0, len(code), 4)),
        tracking_number=ret.return_tracking_number,
        rma=ret.rma,
        address=[line.strip() for line in address if line.strip()],
        locker_code=ret.locker_code if ret.method is ReturnMethod.LOCKER else None,
        items=ngettext("%(num)d item", "%(num)d items", quantity),
    )


def _matrix(data: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.get_matrix()


def _lines(t: LabelText) -> list[tuple[str, float, bool]]:
    """The text under the code: (text, size in mm, bold)."""
    lines = [
        (t.code, 6.0, True),
        (_("Return tracking no. %(tn)s", tn=t.tracking_number), 4.2, True),
        (f"RMA {t.rma} · {t.items}", 3.8, False),
    ]
    if t.locker_code:
        lines.append((_("Locker code %(code)s", code=t.locker_code), 4.6, True))
    lines.append((_("Send to:"), 3.6, False))
    lines += [(line, 4.0, i == 0) for i, line in enumerate(t.address)]
    return lines


def svg(ret: Return) -> str:
    t = label_text(ret)
    matrix = _matrix(ret.dropoff_code)
    modules = len(matrix)
    path = "".join(
        f"M{x},{y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark
    )
    qr_x = (WIDTH_MM - QR_MM) / 2
    name = _("Return label %(tn)s", tn=t.tracking_number)  # not in the f-string: extraction
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM}mm" height="{HEIGHT_MM}mm" '
        f'viewBox="0 0 {WIDTH_MM} {HEIGHT_MM}" role="img" '
        f'aria-label="{escape(name)}">',
        f'<rect width="{WIDTH_MM}" height="{HEIGHT_MM}" fill="#fff"/>',
        '<g font-family="Helvetica, Arial, sans-serif" fill="#000">',
        f'<text x="6" y="12" font-size="7" font-weight="700">{t.heading}</text>',
        f'<text x="{WIDTH_MM - 6}" y="12" font-size="4.2" text-anchor="end">'
        f"{escape(t.merchant)}</text>",
        f'<svg x="{qr_x}" y="16" width="{QR_MM}" height="{QR_MM}" '
        f'viewBox="0 0 {modules} {modules}" shape-rendering="crispEdges">'
        f'<path d="{path}"/></svg>',
    ]
    y = 16 + QR_MM + 4
    for text, size, bold in _lines(t):
        y += size * 1.35
        weight = ' font-weight="700"' if bold else ""
        parts.append(
            f'<text x="{WIDTH_MM / 2}" y="{y:.1f}" font-size="{size}" text-anchor="middle"'
            f"{weight}>{escape(text)}</text>"
        )
    parts.append("</g></svg>")
    return "".join(parts)


def _mm(value: float) -> int:
    return round(value / 25.4 * DPI)


# DejaVu Sans (npm `dejavu-fonts-ttf`, copied by `make vendor`): Pillow's own font draws å, ø,
# é and € as empty boxes, and the label carries Nordic words, names and addresses.
FONTS = Path(__file__).resolve().parents[1] / "static" / "vendor" / "fonts"


@lru_cache(maxsize=16)
def _font(size_mm: float, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    try:
        return ImageFont.truetype(str(path), _mm(size_mm))
    except OSError:
        # An install that skipped `make vendor`: a label with boxes for Nordic letters beats
        # no label; say so once.
        logger.warning("return labels: %s is missing (run `make vendor`)", path.name)
        return ImageFont.load_default(size=_mm(size_mm))


def png(ret: Return) -> bytes:
    t = label_text(ret)
    image = Image.new("L", (_mm(WIDTH_MM), _mm(HEIGHT_MM)), 255)
    draw = ImageDraw.Draw(image)

    draw.text((_mm(6), _mm(12)), t.heading, font=_font(7, bold=True), anchor="ls", fill=0)
    draw.text((_mm(WIDTH_MM - 6), _mm(12)), t.merchant, font=_font(4.2), anchor="rs", fill=0)
    matrix = _matrix(ret.dropoff_code)
    modules = len(matrix)
    scale = _mm(QR_MM) // modules
    qr = Image.new("L", (modules, modules), 255)
    qr.putdata([0 if dark else 255 for row in matrix for dark in row])
    qr = qr.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    image.paste(qr, ((image.width - qr.width) // 2, _mm(16)))
    y = 16 + QR_MM + 4
    for text, size, bold in _lines(t):
        y += size * 1.35
        draw.text((image.width // 2, _mm(y)), text, font=_font(size, bold), anchor="ms", fill=0)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True, dpi=(DPI, DPI))
    return out.getvalue()
