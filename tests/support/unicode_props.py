"""Default_Ignorable_Code_Point, derived from Unicode data for the tests
(the expected side of fob.proto's name rule), not copied from the firmware:
Python's unicodedata gives the general category Cf; the few PropList.txt
sets the derivation in DerivedCoreProperties.txt (UAX #44) names are below."""

from __future__ import annotations

import functools
import unicodedata

# PropList.txt (Unicode 14): Other_Default_Ignorable_Code_Point, Variation_Selector,
# Prepended_Concatenation_Mark; and the two exclusions the derivation names.
OTHER_DICP = [
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x2065, 0x2065),
    (0x3164, 0x3164),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0000),
    (0xE0002, 0xE001F),
    (0xE0080, 0xE00FF),
    (0xE01F0, 0xE0FFF),
]
VARIATION_SELECTOR = [(0x180B, 0x180D), (0x180F, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF)]
PREPENDED_CONCATENATION_MARK = [
    (0x0600, 0x0605),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
]
EXCLUDED = [(0xFFF9, 0xFFFB), (0x13430, 0x1343F)]


def _span(ranges):
    return {c for lo, hi in ranges for c in range(lo, hi + 1)}


@functools.cache
def default_ignorable() -> frozenset[int]:
    """Default_Ignorable_Code_Point = Other_DICP + Cf + Variation_Selector
    - White_Space - FFF9..FFFB - 13430..1343F - Prepended_Concatenation_Mark."""
    cf = {c for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"}
    dicp = _span(OTHER_DICP) | cf | _span(VARIATION_SELECTOR)
    dicp -= _span(EXCLUDED) | _span(PREPENDED_CONCATENATION_MARK)
    return frozenset(c for c in dicp if not chr(c).isspace())
