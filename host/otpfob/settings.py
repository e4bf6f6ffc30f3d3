"""The token's settings as a person names and types them (`otpfob config`).

One table, `fob.proto.SETTINGS`, holds every setting's name, kind and range
for the token and the host; `check` is the token's own check
(`fob.settings.check_value`, the same one sentence as its `bad_arg` reply);
`parse` reads what a person types (`on`/`off`, `yes`/`no`, `true`/`false`
for a switch, one of its names for a choice, a whole number otherwise). On the command line
a setting's name has `-` where the wire has `_` (`long-press`); `for_people`
puts those names into a sentence. No click, no printing.
"""

from __future__ import annotations

import re
from typing import Any

from fob import proto
from fob.settings import check_value

from .errors import InputError

# name -> (lowest, highest, what a value is); a switch has (None, None, None),
# a choice (its names, None, what a value is)
RULES: dict[str, tuple[Any, int | None, str | None]] = {
    name: (lo, hi, what) for name, _id, lo, hi, what in proto.SETTINGS
}
NAMES = tuple(RULES)  # wire names, in the table's order
OFF = 0  # wipe_after: off, beside its range
_TRUE = ("on", "true", "yes", "1")
_FALSE = ("off", "false", "no", "0")
_WHOLE = re.compile(r"[+-]?[0-9]+")


def cli_name(name: str) -> str:
    """A wire name as the command line writes it: `long_press` -> `long-press`."""
    return name.replace("_", "-")


def wire_name(text: str) -> str:
    """The wire name a person's `long-press` (or `long_press`, any case)
    means; InputError listing the names when there is none."""
    name = text.strip().lower().replace("-", "_")
    if name not in RULES:
        raise InputError(
            f"There is no setting named {text.strip()[:40]!r}; the settings are"
            f" {', '.join(cli_name(n) for n in NAMES)}."
        )
    return name


def is_switch(name: str) -> bool:
    return RULES[name][0] is None


def is_choice(name: str) -> bool:
    """A setting that takes one of a few names (`layout`)."""
    return RULES[name][0] is not None and RULES[name][1] is None


def check(name: str, value: Any) -> bool | int | str:
    """``value`` if the token takes it for the setting ``name`` (a wire
    name), else InputError with the sentence the token would answer
    (`proto.setting_error`)."""
    try:
        check_value(name, value)  # the token's own check
    except ValueError as e:
        raise InputError(e.args[0]) from None
    return value


def needs_password(changes: dict[str, Any]) -> str | None:
    """The sentence the token refuses ``changes`` with while it has no access
    password (turning on the lock screen or wipe_after), or None."""
    for name in proto.NEEDS_PASSWORD:
        if changes.get(name):
            return proto.needs_password_error(name)
    return None


def parse(name: str, text: str) -> bool | int | str:
    """What a person typed for the setting ``name`` (a wire name), checked:
    `on`, `off`, `yes`, `no`, `true`, `false` (`1`, `0`) for a switch; one of
    its names for a choice (`layout fr`); a whole number for the rest (`off`
    too for wipe_after). InputError otherwise."""
    word = text.strip().lower()
    if is_choice(name):
        return check(name, word)
    if is_switch(name):
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise InputError(proto.setting_error(name))
    if name == "wipe_after" and word == "off":
        return OFF
    if not word.isascii() or not _WHOLE.fullmatch(word):  # int() would take "٥" and "1_0"
        raise InputError(proto.setting_error(name))
    return check(name, int(word))


def for_people(sentence: str) -> str:
    """A sentence (the token's or `check`'s) with the settings' names as the
    command line writes them."""
    for name in NAMES:
        if "_" in name:
            sentence = re.sub(rf"\b{name}\b", cli_name(name), sentence)
    return sentence
