"""Signature and seal images for electronic documents (NĐ 30/2020 Phụ lục I, II.7.d and II.8).

The signer's signature is blue on a transparent background; the agency seal is red, round,
transparent and drawn at its real size (about 36 mm). Real deployments upload scanned images,
checked by `check_signature_png`; the demo artwork is drawn by danvan.demo.artwork.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from PIL import Image, ImageFont

SEAL_DIAMETER_MM = 36.0
MAX_PNG_SIDE = 2000
MIN_TRANSPARENT_SHARE = 0.05

_FONT_DIRS = (
    "/usr/share/fonts/truetype/liberation2",
    "/usr/share/fonts/truetype/liberation",
    "/usr/share/fonts/truetype/dejavu",
)
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def find_font(*names: str) -> str | None:
    """Return the path of the first installed TrueType font among `names`."""
    for directory in _FONT_DIRS:
        for name in names:
            path = Path(directory) / name
            if path.is_file():
                return str(path)
    return None


def load_font(size: int, *names: str) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The first installed font among `names` (else DejaVu, else Pillow's own) at `size`."""
    path = find_font(*names, "DejaVuSerif-Italic.ttf", "DejaVuSans-Bold.ttf")
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size)


def check_signature_png(data: bytes) -> None:
    """Raise ValueError unless `data` is a PNG with a transparent background, at most 2000×2000."""
    if not isinstance(data, bytes | bytearray) or not data.startswith(_PNG_MAGIC):
        raise ValueError("Ảnh chữ ký phải là tệp PNG.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt, (width, height), mode = probe.format, probe.size, probe.mode
            has_trns = "transparency" in probe.info
            if fmt != "PNG":
                raise ValueError("Ảnh chữ ký phải là tệp PNG.")
            if width > MAX_PNG_SIDE or height > MAX_PNG_SIDE:
                raise ValueError(
                    f"Ảnh chữ ký quá lớn ({width}×{height} điểm ảnh, "
                    f"tối đa {MAX_PNG_SIDE}×{MAX_PNG_SIDE})."
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if not (mode in ("RGBA", "LA", "PA") or (mode in ("P", "L", "RGB") and has_trns)):
                raise ValueError("Ảnh chữ ký phải có nền trong suốt (PNG có kênh alpha).")
            alpha = img.convert("RGBA").getchannel("A")
    except ValueError:
        raise
    except Exception as exc:  # Pillow raises many types for damaged files
        raise ValueError("Tệp PNG bị hỏng hoặc không đọc được.") from exc
    histogram = alpha.histogram()
    transparent = sum(histogram[:32])
    if transparent < MIN_TRANSPARENT_SHARE * width * height:
        raise ValueError("Ảnh chữ ký không có nền trong suốt: hãy xoá nền trắng rồi tải lên lại.")
    if sum(histogram[128:]) == 0:
        raise ValueError("Ảnh chữ ký trong suốt hoàn toàn, không thấy nét ký.")


_STAMP_FONT_CACHE: dict[str, str] = {}


def stamp_font_path(name: str = "LiberationSerif-Regular.ttf") -> str:
    """Path of a copy of TrueType font `name` rescaled to 1000 units/em (cached on disk).

    pyHanko 0.38 writes CIDFont widths in raw font units, so 2048-upem fonts come out
    letter-spaced; a 1000-upem copy renders correctly.
    """
    if name in _STAMP_FONT_CACHE and Path(_STAMP_FONT_CACHE[name]).is_file():
        return _STAMP_FONT_CACHE[name]
    src = find_font(name, "DejaVuSerif.ttf")
    if src is None:
        raise RuntimeError("Không tìm thấy phông chữ TrueType (cần gói fonts-liberation).")
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    stat = os.stat(src)
    cache_dir = Path(os.environ.get("DANVAN_FONT_CACHE") or tempfile.gettempdir()) / "danvan-fonts"
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{Path(src).stem}-{stat.st_size}-{int(stat.st_mtime)}-1000upem-v2.ttf"
    if not target.is_file():
        font = TTFont(src)
        if "FFTM" in font:  # FontForge timestamps: pyHanko's subsetter cannot handle them
            del font["FFTM"]
        if font["head"].unitsPerEm != 1000:
            scale_upem(font, 1000)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".ttf")
        os.close(fd)
        font.save(tmp)
        os.replace(tmp, target)  # atomic: concurrent workers never see half a file
    _STAMP_FONT_CACHE[name] = str(target)
    return str(target)


def text_width_pt(text: str, size: float, name: str = "LiberationSerif-Regular.ttf") -> float:
    """Approximate width in points of `text` set in font `name` at `size` pt."""
    font = load_font(100, name)
    return font.getlength(text) * size / 100
