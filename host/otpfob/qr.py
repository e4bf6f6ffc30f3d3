"""QR codes in pictures: what services and phone apps hand out, read with zxing-cpp.

A QR code may come as a clean image (AWS's ``QRCodePNG``), a screenshot with
the code somewhere on the page, or a photo that is scaled or a little turned;
zxing-cpp finds it in all of these. What the code holds is sorted here:
an ``otpauth://`` account, an ``otpauth-migration://`` phone-app export, or
something else. Errors are one sentence and never repeat what the code holds,
since that is a secret.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import zxingcpp
from PIL import Image

from .errors import InputError

ACCOUNT = "otpauth"
EXPORT = "otpauth-migration"
MAX_IMAGE_BYTES = 64 * 1024 * 1024  # a screenshot is a few MB; anything larger is not one
MAX_PIXELS = 50_000_000  # Pillow's decompression-bomb guard, kept explicit


@dataclass(frozen=True)
class QrText:
    """The text of the one QR code found, and which kind it is (ACCOUNT or EXPORT)."""

    kind: str
    text: str = ""

    def __repr__(self) -> str:  # the text holds a secret
        return f"QrText(kind={self.kind!r})"


def looks_like_image(data: bytes) -> bool:
    """True for PNG, JPEG, GIF, BMP and WebP data (by their magic bytes)."""
    return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"BM")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )


def _open(data: bytes) -> Image.Image:
    if not data:
        raise InputError("The image is empty; give a PNG or JPEG file holding the QR code.")
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError(
            f"The image is over {MAX_IMAGE_BYTES // 2**20} MB; give a screenshot or a crop of the QR code."
        )
    try:
        img: Image.Image = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise InputError("The image is too large to search for a QR code; crop it to the QR code.")
        img.load()
        # zxing-cpp reads luminance; flatten transparency onto white first (a
        # transparent PNG's dark modules would otherwise sit on black).
        if img.mode in ("RGBA", "LA", "P"):
            rgba = img.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(background, rgba)
        return img.convert("L")
    except InputError:
        raise
    except Exception:
        # A damaged file makes Pillow raise almost anything (OSError,
        # SyntaxError from a broken PNG chunk, struct.error, EOFError, ...):
        # every one of them is the same fact for the user.
        raise _unreadable() from None


def _unreadable() -> InputError:
    return InputError("The file is not an image this tool can read; give a PNG or JPEG file.")


def read_qr(data: bytes) -> QrText:
    """The one OTP QR code in the image ``data`` (PNG, JPEG, ...).

    Raises InputError when the image holds no QR code, more than one, or one
    that is neither an otpauth:// account nor an otpauth-migration:// export.
    """
    img = _open(data)
    try:
        found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    except Exception:  # the decoder's own failure on a strange picture: the same fact
        raise _unreadable() from None
    if not found:
        raise InputError(
            "No QR code was found in the image; give a sharper picture or a screenshot where the QR code is whole."
        )
    texts = {b.text for b in found}  # the same code found twice is one code
    if len(texts) > 1:
        raise InputError(f"The image holds {len(texts)} QR codes; crop it to the one QR code of the account to load.")
    text = texts.pop().strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme == ACCOUNT:
        return QrText(ACCOUNT, text)
    if scheme == EXPORT:
        return QrText(EXPORT, text)
    what = "a web address" if scheme in ("http", "https") else "something else"
    raise InputError(
        f"The QR code holds {what}, not an otpauth:// account; use the QR code the service shows for"
        " an authenticator app."
    )
