"""Names that came from the token, made safe to print on a terminal.

A label or issuer read back from the token is printed to the user's
terminal. The token refuses control and bidi characters in new names
(fob.proto.refused_char), but a store written by older firmware, or
something else answering on the port, could still send them: a C1 CSI
(U+009B) or an ESC starts a terminal escape sequence, and a right-to-left
override (U+202E) reorders the rest of the line. Every character Python
does not call printable (controls, format characters such as the bidi
marks, line separators, surrogates, private-use and unassigned code points,
and space separators other than the plain space), and every character the
name rule refuses (fob.proto: the Default_Ignorable ones Python calls
printable, such as variation selectors) is shown as its escape,
`\\u202e`, so it is visible and cannot act on the terminal.
"""

from __future__ import annotations

from fob import proto


def _visible(ch: str) -> bool:
    # Printable to Python, and not a character the name rule refuses: the
    # Default_Ignorable ones Python calls printable (variation selectors,
    # Hangul fillers) draw nothing either.
    return ch.isprintable() and proto.refused_char(ch) is None


def shown(name: str) -> str:
    """``name`` with every non-printable character written as a visible
    escape: U+202E as the six characters ``\\u202e``, ESC as ``\\x1b``.
    Printable names ("Bänk", "東京") come back unchanged. A backslash
    already in a name is left as it is (``DOMAIN\\user``), so a name can
    spell an escape; the escapes are for safety, not for a round trip."""
    if name.isprintable() and proto.refused_char(name) is None:
        return name
    out = []
    for ch in name:
        if _visible(ch):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


def quoted(name: str) -> str:
    """``shown(name)`` in single quotes, for a name inside a sentence.
    (``repr`` would double the backslash of every escape ``shown`` wrote.)"""
    return f"'{shown(name)}'"
