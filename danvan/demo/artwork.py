"""Demo artwork drawn with Pillow: a handwritten-looking signature and a round agency seal.

For the demo site, tests and benchmarks: real deployments upload scanned images, checked by
danvan.documents.images.check_signature_png.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import unicodedata
from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw, ImageFont

from danvan.documents.images import load_font

SIGNATURE_SIZE = (600, 250)
SEAL_SIZE = 600

Point = tuple[float, float]


def _to_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _bezier(p0: Point, p1: Point, p2: Point, p3: Point) -> list[Point]:
    hull = math.dist(p0, p1) + math.dist(p1, p2) + math.dist(p2, p3)
    steps = max(int(hull), 10)  # about one sample per pixel keeps thin ends continuous
    pts = []
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        x = u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0]
        y = u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1]
        pts.append((x, y))
    return pts


def _stroke(
    draw: ImageDraw.ImageDraw,
    pts: Sequence[Point],
    fill: tuple[int, int, int, int],
    width: Callable[[float], float],
) -> None:
    """Draw a pen stroke whose width varies along the path (pen pressure)."""
    n = max(len(pts) - 1, 1)
    for i, (x, y) in enumerate(pts):
        r = max(width(i / n), 0.8) / 2
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def _pressure(base: float) -> Callable[[float], float]:
    return lambda t: base * (0.35 + 0.65 * math.sin(math.pi * min(max(t, 0.0), 1.0)) ** 0.6)


def _fit_into(img: Image.Image, size: tuple[int, int], margin: int) -> Image.Image:
    """Crop `img` to its visible content and centre it, scaled, on a canvas of `size`."""
    bbox = img.getchannel("A").getbbox() or (0, 0, img.width, img.height)
    content = img.crop(bbox)
    scale = min((size[0] - 2 * margin) / content.width, (size[1] - 2 * margin) / content.height)
    new = (max(1, round(content.width * scale)), max(1, round(content.height * scale)))
    content = content.resize(new, Image.Resampling.LANCZOS)
    out = Image.new("RGBA", size, (0, 0, 0, 0))
    out.alpha_composite(content, ((size[0] - new[0]) // 2, (size[1] - new[1]) // 2))
    return out


def make_signature_png(name: str, *, color: tuple[int, int, int] = (20, 40, 160)) -> bytes:
    """Draw a handwritten-looking blue signature for `name` as a transparent 600×250 PNG."""
    name = unicodedata.normalize("NFC", " ".join(name.split())) or "A"
    rng = random.Random(hashlib.sha256(name.encode()).digest())
    words = name.split()
    given = words[-1]
    initials = "".join(w[0] for w in words[:-1])[:2]
    ink = (*color, 255)

    canvas = Image.new("RGBA", (2000, 900), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    x, base = 260.0, 470.0
    # Handwriting: each letter jittered in size, angle and height; the first one larger.
    letters = (initials + "." if initials else "") + given
    for i, ch in enumerate(letters):
        size = (260 if i == 0 else 170) + rng.randint(-12, 12)
        font = load_font(size, "LiberationSerif-Italic.ttf")
        width = font.getlength(ch)
        glyph = Image.new("RGBA", (int(width) + 200, 500), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((100, 380), ch, font=font, fill=ink, anchor="ls")
        glyph = glyph.rotate(rng.uniform(-8, 6), resample=Image.Resampling.BICUBIC)
        canvas.alpha_composite(glyph, (round(x - 100), round(base - 380 + rng.uniform(-14, 14))))
        x += width * (0.86 if ch != "." else 0.6)
    end_x = x

    # A loop from the last letter back under the name, then a long rising tail.
    dip = base + rng.uniform(50, 90)
    loop = _bezier(
        (end_x - 20, base - 30),
        (end_x + 150, base + 110),
        (240 + rng.uniform(-40, 40), dip + 110),
        (170, dip),
    )
    tail = _bezier(
        (170, dip),
        (140 + rng.uniform(0, 60), dip - 90),
        (end_x * 0.7, dip - 40 + rng.uniform(-30, 30)),
        (end_x + 120 + rng.uniform(0, 60), base - 170 - rng.uniform(0, 60)),
    )
    _stroke(draw, loop, ink, _pressure(11))
    _stroke(draw, tail, ink, _pressure(9))
    # A quick stroke through the first letter, as many Vietnamese signatures have.
    cross = _bezier(
        (200, base - 120),
        (300, base - 210),
        (420, base - 40),
        (520 + rng.uniform(0, 60), base - 170),
    )
    _stroke(draw, cross, ink, _pressure(8))
    # Slant the whole signature forward like quick handwriting.
    canvas = canvas.transform(
        canvas.size, Image.Transform.AFFINE, (1, 0.25, -110, 0, 1, 0), Image.Resampling.BICUBIC
    )

    big_size = (SIGNATURE_SIZE[0] * 2, SIGNATURE_SIZE[1] * 2)
    fitted = _fit_into(canvas, big_size, margin=16)
    return _to_png(fitted.resize(SIGNATURE_SIZE, Image.Resampling.LANCZOS))


def _star(cx: float, cy: float, r_out: float, rotation: float = -90.0) -> list[Point]:
    r_in = r_out * 0.382
    pts = []
    for i in range(10):
        r = r_out if i % 2 == 0 else r_in
        a = math.radians(rotation + i * 36)
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def _arc_text(
    canvas: Image.Image,
    text: str,
    centre: Point,
    radius: float,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    fill: tuple[int, int, int, int],
    *,
    top: bool,
    spacing: float,
) -> None:
    """Write `text` along the top arc (reading clockwise) or bottom arc (left to right)."""
    widths = [font.getlength(ch) + spacing for ch in text]
    span = sum(widths) / radius
    cursor = math.pi / 2 + span / 2 if top else 3 * math.pi / 2 - span / 2
    size = int(font.size * 2.2) if hasattr(font, "size") else 120
    for ch, w in zip(text, widths, strict=True):
        half = (w / 2) / radius
        theta = cursor - half if top else cursor + half
        cursor = cursor - 2 * half if top else cursor + 2 * half
        if ch == " ":
            continue
        glyph = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((size / 2, size / 2), ch, font=font, fill=fill, anchor="mm")
        rot = math.degrees(theta) - (90 if top else 270)
        glyph = glyph.rotate(rot, resample=Image.Resampling.BICUBIC)
        x = centre[0] + radius * math.cos(theta) - size / 2
        y = centre[1] - radius * math.sin(theta) - size / 2
        canvas.alpha_composite(glyph, (round(x), round(y)))


def make_seal_png(
    agency_name: str, parent_name: str, *, color: tuple[int, int, int] = (220, 20, 20)
) -> bytes:
    """Draw a red round agency seal (rings, text around, star) as a transparent 600×600 PNG."""
    scale = 2
    n = SEAL_SIZE * scale
    c = n / 2
    ink = (*color, 235)
    canvas = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    r_outer, r_inner = n / 2 - 12, n * 0.345
    draw.ellipse((c - r_outer, c - r_outer, c + r_outer, c + r_outer), outline=ink, width=26)
    draw.ellipse((c - r_inner, c - r_inner, c + r_inner, c + r_inner), outline=ink, width=12)
    draw.polygon(_star(c, c, n * 0.2), fill=ink)

    r_text = (r_outer - 13 + r_inner + 6) / 2
    top_text = unicodedata.normalize("NFC", parent_name).upper().strip()
    bottom_text = unicodedata.normalize("NFC", agency_name).upper().strip()
    for text, top, limit in ((top_text, True, 200.0), (bottom_text, False, 130.0)):
        size = 96
        while True:
            font = load_font(size, "LiberationSans-Bold.ttf", "DejaVuSans-Bold.ttf")
            spacing = size * 0.12
            span = math.degrees(sum(font.getlength(ch) + spacing for ch in text) / r_text)
            if span <= limit or size <= 40:
                break
            size -= 4
        _arc_text(canvas, text, (c, c), r_text, font, ink, top=top, spacing=spacing)
    # Small stars separate the two texts on the band, left and right.
    for angle in (math.radians(200), math.radians(-20)):
        sx, sy = c + r_text * math.cos(angle), c - r_text * math.sin(angle)
        draw.polygon(_star(sx, sy, 30), fill=ink)
    return _to_png(canvas.resize((SEAL_SIZE, SEAL_SIZE), Image.Resampling.LANCZOS))
