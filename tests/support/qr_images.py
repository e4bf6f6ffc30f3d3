"""QR code pictures for the tests, made with segno and Pillow: a clean code as
a service's page shows it, a code inside a 1280x800 "screenshot" with text
around it, scaled, turned, and pictures with no code or with two."""

from __future__ import annotations

import io
import random

import segno
from PIL import Image, ImageDraw

PAGE_TEXT = [
    "Set up virtual MFA device",
    "1. Install a compatible app on your mobile device or computer.",
    "2. Use your virtual MFA app and your device's camera to scan the QR code.",
    "Alternatively, you can type the secret key.",
    "3. Type two consecutive MFA codes below.",
    "MFA code 1  [      ]      MFA code 2  [      ]",
]


def qr_image(text: str, *, scale: int = 4, border: int = 4) -> Image.Image:
    """The QR code of ``text`` as a greyscale Pillow image (segno picks the version)."""
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=scale, border=border)
    return Image.open(io.BytesIO(buf.getvalue())).convert("L")


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buf.getvalue()


def scaled(img: Image.Image, factor: float) -> Image.Image:
    size = (round(img.width * factor), round(img.height * factor))
    return img.resize(size, Image.Resampling.LANCZOS)


def rotated(img: Image.Image, degrees: float) -> Image.Image:
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def screenshot(*codes: Image.Image, seed: int = 0) -> Image.Image:
    """A 1280x800 page with lines of text, and the given QR codes placed on it
    (the first at a random spot right of the text column, the next below it)."""
    rnd = random.Random(seed)
    page = Image.new("RGB", (1280, 800), (246, 247, 250))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 1280, 48), fill=(35, 47, 62))
    draw.text(
        (20, 16), "Identity and Access Management (IAM)   Users > alice > Security credentials", fill=(255, 255, 255)
    )
    for i in range(22):
        draw.text((30, 70 + i * 30), PAGE_TEXT[i % len(PAGE_TEXT)], fill=(20, 20, 20))
    x, y = rnd.randrange(640, 1280 - 420), rnd.randrange(60, 120)
    for code in codes:
        page.paste(code.convert("RGB"), (x, y))
        y += code.height + 40
    return page


def blank_page() -> Image.Image:
    """A screenshot with text and no QR code."""
    return screenshot()
