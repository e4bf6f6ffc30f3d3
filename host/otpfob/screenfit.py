"""How the token's OLED will show an account's issuer and label, said before
it is added, so nobody finds out at a login that two accounts look alike.

The screen is 16 characters of the 8x8 font wide. On the 128x64 panel the
issuer (or a lone label) shares the top line with the "2/5" position, the
label has the second line; a name longer than its line scrolls there
(fob/ui.py). A character the font has no glyph for is drawn as one
placeholder; which ones it has is asked of the firmware's own `fob.font`,
so this stays true when the font grows.
"""

from __future__ import annotations

COLS = 16  # 8x8 characters across 128 pixels


def font_has(ch: str) -> bool:
    """Does the token's small font draw ``ch`` as itself (not the placeholder)?"""
    from fob import font

    return font.index(ord(ch)) != font.PLACEHOLDER


def top_room(count: int) -> int:
    """Characters the top line shows beside the "2/5" position, with ``count`` accounts."""
    return COLS - (len(f"{count}/{count}") + 1 if count > 1 else 0)


def _missing(text: str) -> list[str]:
    seen: list[str] = []
    for ch in text:
        if ch not in seen and not font_has(ch):
            seen.append(ch)
    return seen


def notes(label: str, issuer: str, count: int = 1) -> list[str]:
    """One sentence per way the 128x64 screen will show these names
    differently from how they are written (``count``: the accounts on the
    token with this one); empty when they show as given."""
    out = []
    if issuer:
        rows = [("issuer", issuer, top_room(count), "--issuer"), ("label", label, COLS, "--label")]
    else:
        rows = [("label", label, top_room(count), "--label")]
    for what, text, room, option in rows:
        if len(text) > room:
            out.append(
                f"Note: the {what} {text!r} is {len(text)} characters, more than the {room} its line on the token's"
                f" screen holds, so it scrolls there; a shorter one ({option}) reads at a glance."
            )
    missing = _missing(issuer + label)
    if missing:
        chars = ", ".join(repr(c) for c in missing[:8])
        out.append(
            f"Note: the token's font has no {chars}, so its screen shows {'it' if len(missing) == 1 else 'each'}"
            f" as a placeholder (a checkered box); `otpfob list` still shows the name as given."
        )
    return out
