"""What MicroPython's esp32 port offers, read from its C source, and what the
firmware asks of it (issue 20: no ESP32 emulator can be had here).

The source is Debian's MicroPython 1.25, unpacked by host/tools/build_rp2.sh
under build/rp2/.  `port_names` reads a module's globals table (and a class's
locals table) the way the C preprocessor would keep it for the esp32 port:
`#if` conditions are evaluated from the port's and MicroPython's config
headers; a condition on something only ESP-IDF defines (`SOC_*`, `CONFIG_*`)
is unknown here and its entries count as present (they are, on some chip).
`firmware_uses` lists the `machine.X`, `machine.X.Y` and `esp32.X` names the
firmware's source touches.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

# ext0/ext1 wake pins: the RTC GPIOs (ESP32 and ESP32-S3 datasheets, "RTC and
# Low-Power Management"; MicroPython's docs/esp32/quickref.rst).
RTC_GPIOS = {
    "ESP32": frozenset({0, 2, 4, 12, 13, 14, 15, 25, 26, 27, *range(32, 40)}),
    "ESP32S3": frozenset(range(22)),
}
# ADC1 (ADC2 is shared with the radio): ESP32 GPIO32-39, ESP32-S3 GPIO1-10.
ADC1_GPIOS = {"ESP32": frozenset(range(32, 40)), "ESP32S3": frozenset(range(1, 11))}
# The port's modules the firmware may touch, and where their tables are.
MODULE_TABLES = {
    "machine": ("extmod/modmachine.c", "machine_module_globals_table"),
    "esp32": ("ports/esp32/modesp32.c", "esp32_module_globals_table"),
}
# Config headers in the order the compiler reads them (both boards' files:
# a name either defines counts).
_CONFIG = (
    "ports/esp32/boards/ESP32_GENERIC/mpconfigboard.h",
    "ports/esp32/boards/ESP32_GENERIC_S3/mpconfigboard.h",
    "ports/esp32/mpconfigport.h",
    "py/mpconfig.h",
)


class Unknown(Exception):
    """A preprocessor condition on a name only ESP-IDF defines."""


def source_root(build_dir: Path) -> Path | None:
    """MicroPython's source tree under the emulated Pico's build, if unpacked."""
    found = sorted(build_dir.glob("micropython-*/ports/esp32/modesp32.c"))
    return found[0].parents[2] if found else None


def _logical_lines(text: str) -> list[str]:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"\\\n", " ", text)
    return [re.sub(r"//.*", "", line) for line in text.splitlines()]


class Preprocessor:
    """Just enough of cpp: object-like #defines and #if/#ifdef/#elif/#else."""

    def __init__(self, root: Path):
        self.root = root
        self.defines: dict[str, str] = {}
        self.functions: set[str] = set()  # function-like macros: only defined() reads them
        for rel in _CONFIG:
            self.lines(root / rel)
        for folder in ("ports/esp32", "extmod"):
            for path in sorted((root / folder).glob("*.c")):
                self.lines(path)

    def lines(self, path: Path) -> list[str]:
        """The file's lines that a condition does not rule out; records its #defines."""
        kept: list[str] = []
        stack: list[tuple[bool | None, bool]] = []  # (this branch, an earlier branch was taken)

        def live() -> bool:
            return all(state is not False for state, _ in stack)

        for line in _logical_lines(path.read_text(errors="replace")):
            m = re.match(r"\s*#\s*(\w+)\s*(.*)", line)
            if not m:
                if live():
                    kept.append(line)
                continue
            word, rest = m.group(1), m.group(2).strip()
            if word in ("if", "ifdef", "ifndef"):
                expr = {"if": rest, "ifdef": f"defined({rest})", "ifndef": f"!defined({rest})"}[word]
                state = self.truth(expr) if live() else False
                stack.append((state, state is True))
            elif word == "elif" and stack:
                _, taken = stack.pop()
                state = False if taken else self.truth(rest)
                stack.append((state, taken or state is True))
            elif word == "else" and stack:
                state, taken = stack.pop()
                stack.append((None if state is None else not taken, True))
            elif word == "endif" and stack:
                stack.pop()
            elif word == "define" and live():
                d = re.match(r"(\w+)(\(?)\s*(.*)", rest)
                if d and d.group(2):
                    self.functions.add(d.group(1))
                elif d:  # the first definition wins (what #ifndef guards keep)
                    self.defines.setdefault(d.group(1), d.group(3).strip())
        return kept

    def truth(self, expr: str) -> bool | None:
        try:
            return bool(self.value(expr, 0))
        except Unknown:
            return None

    def value(self, expr: str, depth: int) -> int:
        if depth > 20:
            raise Unknown(expr)
        expr = re.sub(
            r"defined\s*\(\s*(\w+)\s*\)|defined\s+(\w+)", lambda m: self._defined(m.group(1) or m.group(2)), expr
        )

        def name(m: re.Match[str]) -> str:
            word = m.group(0)
            if word in self.defines:
                body = self.defines[word] or "1"
                return f"({self.value(body, depth + 1)})"
            if word.startswith(("MICROPY_", "MP_")):
                return "0"  # cpp: an undefined name is 0
            raise Unknown(word)  # ESP-IDF's SOC_*, CONFIG_*, ...

        expr = re.sub(r"\b(\d+)[uUlL]+\b", r"\1", expr)
        expr = re.sub(r"\b[A-Za-z_]\w*\b", name, expr)
        expr = expr.replace("&&", " and ").replace("||", " or ")
        expr = re.sub(r"!(?!=)", " not ", expr)
        if not re.fullmatch(r"[\d\s()+\-*/<>=!%]*(?:\b(?:and|or|not)\b[\d\s()+\-*/<>=!%]*)*", expr):
            raise Unknown(expr)
        try:
            return int(eval(expr, {"__builtins__": {}}))  # noqa: S307 - digits and operators only (checked above)
        except (SyntaxError, ZeroDivisionError, TypeError) as e:
            raise Unknown(expr) from e

    def _defined(self, word: str) -> str:
        if word in self.defines or word in self.functions:
            return "1"
        if word.startswith(("MICROPY_", "MP_")):
            return "0"
        raise Unknown(word)

    def expand(self, text: str, depth: int = 0) -> str:
        """Macros in a table's body that stand for entries replaced by their
        text (the port's extra entries, e.g. MICROPY_PY_MACHINE_EXTRA_GLOBALS)."""
        if depth > 10:
            return text

        def entries(m: re.Match[str]) -> str:
            body = self.defines.get(m.group(0))
            if body is None:
                return m.group(0)
            body = self.expand(body, depth + 1)
            return body if "MP_ROM_QSTR" in body else m.group(0)

        return re.sub(r"\b(?!MP_)[A-Z][A-Z0-9_]*\b", entries, text)


def _find(root: Path, pattern: str) -> tuple[Path, re.Match[str]] | None:
    for folder in ("ports/esp32", "extmod", "py"):
        for path in sorted((root / folder).glob("*.c")):
            m = re.search(pattern, path.read_text(errors="replace"), re.S)
            if m:
                return path, m
    return None


def _table(pp: Preprocessor, path: Path, table: str) -> dict[str, str]:
    """A mp_rom_map_elem_t table's keys (qstr names) and their values."""
    text = "\n".join(pp.lines(path))
    m = re.search(rf"\b{table}\s*\[\s*\]\s*=\s*\{{(.*?)\n\s*\}};", text, re.S)
    if m is None:
        raise LookupError(f"{table} not found in {path}")
    body = pp.expand(m.group(1))
    return dict(re.findall(r"MP_ROM_QSTR\(MP_QSTR_(\w+)\)\s*,\s*([^}]*)\}", body))


def port_names(root: Path, pp: Preprocessor | None = None) -> dict[str, dict[str, set[str] | None]]:
    """{module: {name: a class's attribute names, or None for a plain value}}."""
    pp = pp or Preprocessor(root)
    out: dict[str, dict[str, set[str] | None]] = {}
    for module, (rel, table) in MODULE_TABLES.items():
        entries = _table(pp, root / rel, table)
        names: dict[str, set[str] | None] = {}
        for name, value in entries.items():
            names[name] = None
            t = re.search(r"&(\w+_type)\b", value)
            if t is None:
                continue
            typedef = _find(root, rf"MP_DEFINE_CONST_OBJ_TYPE\(\s*{t.group(1)}\s*,(.*?)\);")
            locals_ref = typedef and re.search(r"locals_dict\s*,\s*&(\w+)", typedef[1].group(1))
            if not locals_ref:
                continue
            d = _find(root, rf"MP_DEFINE_CONST_DICT\(\s*{locals_ref.group(1)}\s*,\s*(\w+)\s*\)")
            if d is not None:
                names[name] = set(_table(pp, d[0], d[1].group(1)))
        out[module] = names
    return out


def rtc_ext_pins(root: Path) -> dict[str, frozenset[int]]:
    """RTC_VALID_EXT_PINS from ports/esp32/modesp32.h, per chip: the pins
    esp32.wake_on_ext0/ext1 accept ("invalid pin" for any other)."""
    text = (root / "ports/esp32/modesp32.h").read_text()
    s3, esp32 = re.findall(r"#define RTC_VALID_EXT_PINS(.*?)#define RTC_LAST_EXT_PIN", text, re.S)
    pins = lambda block: frozenset(int(n) for n in re.findall(r"1ll << (\d+)", block))  # noqa: E731
    return {"ESP32S3": pins(s3), "ESP32": pins(esp32)}


def firmware_uses(sources: dict[str, str]) -> dict[tuple[str, ...], list[str]]:
    """{("machine", "Pin", "IN"): [where, ...]} for every attribute chain on
    `machine` or `esp32` in the sources ({label: text}), through `import x as
    y`, `from x import y`, a parameter named after the module, and
    hasattr/getattr with a literal name."""
    used: dict[tuple[str, ...], list[str]] = {}
    for label, text in sources.items():
        tree = ast.parse(text, label)
        roots = {m: (m,) for m in MODULE_TABLES}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in MODULE_TABLES:
                        roots[a.asname or a.name] = (a.name,)
            elif isinstance(node, ast.ImportFrom) and node.module in MODULE_TABLES:
                for a in node.names:
                    roots[a.asname or a.name] = (node.module, a.name)
                    used.setdefault((node.module, a.name), []).append(f"{label}:{node.lineno}")
        for node in ast.walk(tree):
            chain = None
            if isinstance(node, ast.Attribute):
                attrs = []
                inner: ast.expr = node
                while isinstance(inner, ast.Attribute):
                    attrs.append(inner.attr)
                    inner = inner.value
                if isinstance(inner, ast.Name) and inner.id in roots:
                    chain = roots[inner.id] + tuple(reversed(attrs))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("hasattr", "getattr")
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in roots
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                chain = roots[node.args[0].id] + (node.args[1].value,)
            if chain is not None and len(chain) > 1:
                used.setdefault(chain[:3], []).append(f"{label}:{node.lineno}")
    return used


def missing(uses: dict[tuple[str, ...], list[str]], names: dict[str, dict[str, set[str] | None]]) -> list[str]:
    """The chains the port lacks, each with where the firmware uses it."""
    out = []
    for chain, where in sorted(uses.items()):
        module, first, rest = chain[0], chain[1], chain[2:]
        attrs = names[module].get(first, False)
        if attrs is False:
            out.append(f"{module}.{first} ({', '.join(where)})")
        elif rest and attrs is not None and rest[0] not in attrs and not rest[0].startswith("__"):
            out.append(f"{module}.{first}.{rest[0]} ({', '.join(where)})")
    return out


# The battery through its divider must stay in ADC1's calibrated range at
# 11 dB (ESP32: 150-2450 mV; the S3 reaches further): a full LiPo is 4.2 V.
FULL_BATTERY_MV = 4200
ADC_MAX_MV = 2450


def board_problems(data: dict) -> list[str]:
    """Why a board file with SLEEP = "esp32-light" could not sleep and wake
    as fob/sleep_esp32.py does (empty: it can)."""
    chip = data.get("CHIP")
    if chip not in RTC_GPIOS:
        return [f"CHIP {chip!r} is not one of {sorted(RTC_GPIOS)}"]
    rtc, adc1 = RTC_GPIOS[chip], ADC1_GPIOS[chip]
    out = []
    if data.get("PLATFORM") != "esp32":
        out.append(f"PLATFORM {data.get('PLATFORM')!r}: esp32 light sleep needs the esp32 port")
    button = data.get("BUTTON_PIN")
    if button not in rtc:
        out.append(f"BUTTON_PIN {button} is not an RTC GPIO of the {chip}: ext0 cannot wake on it")
    vbus = data.get("VBUS_PIN")
    if vbus is not None and vbus not in rtc:
        out.append(f"VBUS_PIN {vbus} is not an RTC GPIO of the {chip}: ext1 cannot wake on it")
    if vbus is not None and vbus == button:
        out.append("VBUS_PIN and BUTTON_PIN are the same pin")
    adc = data.get("VSYS_ADC_PIN")
    if adc is not None:
        divider = data.get("VSYS_DIVIDER")
        if adc not in adc1:
            out.append(f"VSYS_ADC_PIN {adc} is not on the {chip}'s ADC1")
        if not isinstance(divider, int) or divider < 1:
            out.append(f"VSYS_DIVIDER {divider!r} is not a whole ratio (fob/hw.py multiplies by it)")
        elif FULL_BATTERY_MV // divider > ADC_MAX_MV:
            out.append(f"a full battery through VSYS_DIVIDER {divider} is above the ADC's {ADC_MAX_MV} mV")
    return out
