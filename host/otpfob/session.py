"""Typed operations on a token, over any transport with `call(op, args)`.

This is the library layer (like yubikit under ykman): no click, no printing.
Error replies become `TokenError(code, sentence)` with `code` from
`fob.proto.E_*`, so callers can branch on it and show the sentence as is.
The session owns access control too (`unlock`, `lock`, `set_access`,
`clear_access`, `factory_wipe`), as yubikit's OathSession does; the key
derivation and MACs are in `otpfob.access`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fob import proto

from . import access
from .codes import Check, check_code, reference_hotp
from .errors import TokenError, TransportError
from .floors import IterationFloors
from .names import shown
from .uri import HOTP, TOTP, Account

CODE_TIMEOUT = 3.0
TOUCH_TIMEOUT = 20.0  # a touch account waits for a press (the firmware gives up after 15 s)
UNLOCK_TIMEOUT = 5.0  # the token writes its failure counter to flash before it answers
LIST_PAGE = 25


class Transport(Protocol):
    port: str

    def call(self, op: str, args: dict[str, Any] | None = None, *, timeout: float | None = None) -> dict[str, Any]: ...

    def close(self) -> None: ...


@dataclass
class Info:
    version: str
    board: str
    clock: str  # proto.CLOCK_*
    accounts: int
    free: int | None  # bytes of heap, None where the port cannot tell
    protocol: int
    time: int | None = None  # the token's Unix time when it answered
    clock_jump: int = 0  # seconds the clock jumped, when clock == CLOCK_JUMPED
    capacity: int = proto.MAX_ACCOUNTS
    store: str = proto.STORE_OK
    access: bool = False  # an access password is set
    unlocked: bool = True  # this link may use the gated ops now (True when no password is set)
    maintenance: bool = False  # powered on with the button held (Ctrl-C on)
    exposure: str | None = None  # who can read the board's flash (its board file's EXPOSURE)
    token_id: str | None = None  # a short id that tells two tokens apart (fob/tokenid.py)
    # Settings (issue 26); older firmware reports none of these: the defaults.
    screen_locked: bool = False  # the lock screen hides codes until a host unlocks
    wipe_after: int = 0  # that many wrong unlock answers in a row erase every account; 0: off
    wiped: bool = False  # accounts were erased by wrong unlock answers (until the next good unlock)
    # Power (issue 20); older firmware and boards that sense nothing: None.
    power: str | None = None  # "usb" or "battery"
    battery: str | None = None  # on battery: "ok", "low" (the screen warns) or "critical" (no writes)
    battery_mv: int | None = None  # the battery's voltage as the board reads it
    battery_percent: int | None = None  # the charge left, estimated from the voltage
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Settings:
    """The token's settings (`config_get`): ``values`` by their names on the
    wire, in `fob.proto.SETTINGS`'s order; a newer firmware's settings this
    otpfob does not know come last, escaped."""

    values: dict[str, Any]
    screen_locked: bool = False  # the lock screen hides codes now

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


@dataclass
class Moved:
    """Where `move` put an account: its 0-based ``index`` of ``accounts``."""

    index: int
    accounts: int


@dataclass
class AccountInfo:
    """What the token tells about an account: everything but the secret."""

    label: str
    issuer: str
    type: str
    algorithm: str
    digits: int
    period: int
    touch: bool = False
    counter: int | None = None


@dataclass
class AccessKey:
    """A key that unlocked the token, with what it was derived with."""

    key: bytes = field(repr=False)
    salt: bytes
    iterations: int


@dataclass
class TokenTime:
    unix: int | None  # None when the token has no usable clock
    clock: str  # proto.CLOCK_*


@dataclass
class Code:
    code: str
    time: int | None  # the token's time the code was computed for (TOTP)
    counter: int | None  # the counter it was computed from (HOTP)


def full_name(label: str, issuer: str = "") -> str:
    """An account's name as services and ykman write it: `issuer:label`, or
    the label alone. The token names an account by both (protocol 2)."""
    return f"{issuer}:{label}" if issuer else label


def _named(label: str, issuer: str = "") -> str:
    return f"named {full_name(label, issuer)!r}"


# What an op that a token's older firmware lacks (E_OP) means to a person.
NO_SETTINGS = "This token's firmware has no settings; update it with `otpfob deploy`."
NO_ORDER = "This token's firmware cannot change the order of its accounts; update it with `otpfob deploy`."


def _one_of(value: Any, allowed: tuple[str, ...]) -> str | None:
    """A token's word if it is one we know, else None (never printed raw)."""
    return value if isinstance(value, str) and value in allowed else None


def _sentence(code: str, msg: str, context: str = "") -> str:
    """A user-facing sentence for an error reply; the token's own msg is a fallback."""
    about = f" {context}" if context else ""
    known = {
        proto.E_NOT_FOUND: f"There is no account{about} on the token; see `otpfob list`.",
        proto.E_EXISTS: f"The token already has an account{about}; choose another name or delete it first.",
        proto.E_FULL: f"The token is full ({proto.MAX_ACCOUNTS} accounts); delete one first.",
        proto.E_CLOCK: "The token's clock is not set or not trusted; set it with `otpfob time --set`.",
        proto.E_STORE: "The token's account store is damaged; run `otpfob wipe` and provision the accounts again.",
        proto.E_LOCKED: "The token is protected by an access password; unlock it first.",
        proto.E_AUTH: "The access password is wrong.",
        proto.E_THROTTLED: "Too many wrong passwords were tried; wait and try again.",
        proto.E_TOUCH: "No button press came on the token in time; press the button when asked.",
        proto.E_BUTTON: "The token's button was not held down; hold it while you run `otpfob wipe --factory` again.",
        proto.E_HW: "A part of the token (clock or display) failed; check its wiring.",
        proto.E_BATTERY: "The token's battery is too low to write safely; charge it or plug it into USB, then retry.",
        proto.E_VERSION: "The token speaks another protocol version; update its firmware with `otpfob deploy`.",
        proto.E_OP: "The token's firmware does not know this command; update it with `otpfob deploy`.",
    }
    if code in known:
        return known[code]
    text = (msg or code or "unknown error").strip().rstrip(".")
    return f"The token refused the request: {shown(text)}."


class Session:
    """A conversation with one token. Create with a transport; close when done."""

    def __init__(
        self,
        transport: Transport,
        *,
        min_iterations: int = access.MIN_ITERATIONS,
        floors: IterationFloors | None = None,
    ) -> None:
        self.transport = transport
        self._info: Info | None = None
        self._touch_default: bool | None = None  # asked once a session (config_set updates it)
        # The fewest PBKDF2 rounds an unlock accepts from a token; `floors`
        # remembers per token the most it offered before (the CLI keeps them
        # on disk). Tests that set cheap passwords lower min_iterations.
        self.min_iterations = min_iterations
        self.floors = floors

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------

    def _call(
        self,
        op: str,
        args: dict[str, Any] | None = None,
        *,
        context: str = "",
        timeout: float | None = None,
        older: str = "",
        own_words: bool = False,
    ) -> dict[str, Any]:
        """The reply to ``op``; an error reply raised as `TokenError`: with
        ``older`` as the sentence when the firmware does not know the op,
        and, with ``own_words``, a `bad_arg` reply's own sentence (escaped),
        for ops whose refusals the protocol words for people (config_set)."""
        reply = self.transport.call(op, args, timeout=timeout)
        theirs = reply.get("v")
        if theirs != proto.VERSION:
            port = self.transport.port
            if isinstance(theirs, int) and not isinstance(theirs, bool) and theirs < proto.VERSION:
                raise TransportError(
                    f"The token on {port} runs older otpfob firmware (protocol {theirs}, this otpfob needs"
                    f" {proto.VERSION}); update it with `otpfob deploy`, which keeps its accounts.",
                    port,
                )
            raise TransportError(
                f"The token on {port} speaks protocol version {theirs!r}, newer than this otpfob's"
                f" {proto.VERSION}; update otpfob.",
                port,
            )
        if not reply.get("ok"):
            code = str(reply.get("err", ""))
            extra = {k: v for k, v in reply.items() if k not in ("v", "id", "ok", "err", "msg")}
            if code == proto.E_LOCKED and self.sealed:
                self._set_seal(None)
                raise TokenError(
                    code,
                    "The token ended this command's unlocked session (60 s without a request, a request"
                    " from another program on its port, or a restart); run the command again.",
                    **extra,
                )
            msg = str(reply.get("msg", ""))
            if code == proto.E_OP and older:
                raise TokenError(code, older, **extra)
            if code == proto.E_ARG and own_words and msg.strip():
                text = shown(msg.strip())
                raise TokenError(code, text if text.endswith(".") else text + ".", **extra)
            raise TokenError(code, _sentence(code, msg, context), **extra)
        return reply

    def request(self, op: str, args: dict[str, Any] | None = None, *, timeout: float | None = None) -> dict[str, Any]:
        """One op's reply, errors raised as `TokenError`: for library modules
        that own an op's meaning (`otpfob.clocksync`)."""
        return self._call(op, args, timeout=timeout)

    def handshake(self) -> Info:
        """Make sure otpfob firmware answers (before anything secret is sent)."""
        if self._info is None:
            self.info()
        assert self._info is not None
        return self._info

    # -- operations -------------------------------------------------------

    def info(self) -> Info:
        r = self._call(proto.OP_INFO)
        known = (
            "v",
            "id",
            "ok",
            "version",
            "board",
            "clock",
            "accounts",
            "free",
            "proto",
            "time",
            "clock_jump",
            "capacity",
            "store",
            "access",
            "unlocked",
            "maintenance",
            "exposure",
            "token_id",
            "screen_locked",
            "wipe_after",
            "wiped",
            "power",
            "battery",
            "battery_mv",
            "battery_percent",
        )
        t = r.get("time")
        password_set = bool(r.get("access", False))
        self._info = Info(
            version=shown(str(r.get("version", "?"))),
            board=shown(str(r.get("board", "?"))),
            clock=shown(str(r.get("clock", "?"))),
            accounts=int(r.get("accounts", 0)),
            free=r.get("free"),
            protocol=int(r.get("proto", r.get("v", proto.VERSION))),
            time=int(t) if isinstance(t, int) else None,
            clock_jump=int(r.get("clock_jump") or 0),
            capacity=int(r.get("capacity", proto.MAX_ACCOUNTS)),
            store=shown(str(r.get("store", proto.STORE_OK))),
            access=password_set,
            unlocked=bool(r.get("unlocked", not password_set)),
            maintenance=bool(r.get("maintenance", False)),
            exposure=shown(str(r["exposure"])) if r.get("exposure") is not None else None,
            token_id=shown(str(r["token_id"])) if r.get("token_id") is not None else None,
            screen_locked=r.get("screen_locked") is True,
            wipe_after=_whole(r.get("wipe_after")) or 0,
            wiped=r.get("wiped") is True,
            power=_one_of(r.get("power"), ("usb", "battery")),
            battery=_one_of(r.get("battery"), ("ok", "low", "critical")),
            battery_mv=_whole(r.get("battery_mv")),
            battery_percent=_whole(r.get("battery_percent")),
            extra={shown(k): _escaped(v) for k, v in r.items() if k not in known},
        )
        return self._info

    def add(self, acct: Account) -> bool:
        """Store an account. The key goes to the token once and never comes back.

        ``acct.touch`` None sends no `touch`, so the token's `touch_default`
        setting decides. Returns whether the stored account needs a press
        (what a check of its code must expect)."""
        acct.check()
        self.handshake()  # never send a key to something that is not otpfob firmware
        args: dict[str, Any] = {
            "label": acct.label,
            "issuer": acct.issuer,
            "key": acct.key.hex(),
            "type": acct.type,
            "algorithm": acct.algorithm,
            "digits": acct.digits,
        }
        if acct.touch is not None:
            args["touch"] = acct.touch
        if acct.type == "hotp":
            args["counter"] = acct.counter
        else:
            args["period"] = acct.period
        r = self._call(proto.OP_ADD, args, context=_named(acct.label, acct.issuer))
        if acct.touch is not None:
            return acct.touch
        stored = r.get("touch")
        return stored if isinstance(stored, bool) else self.touch_default()

    def touch_default(self) -> bool:
        """Whether an account added without `touch` needs a press: the
        token's `touch_default` (False on firmware without settings), asked
        once a session."""
        if self._touch_default is None:
            try:
                self.config_get()
            except TokenError as exc:
                if exc.code != proto.E_OP:
                    raise
                self._touch_default = False
        return bool(self._touch_default)

    # -- settings and order (docs/protocol.md "Settings") ---------------------

    def config_get(self) -> Settings:
        """The token's settings; never gated."""
        return self._seen(_settings(self._call(proto.OP_CONFIG_GET, older=NO_SETTINGS)))

    def config_set(self, **changes: Any) -> Settings:
        """Change some settings (wire names, e.g. ``timeout=60, flip=True``),
        all or none; the settings after. Sent as given: the token checks each
        value (`otpfob.settings.check` is the host's copy of its rules), and
        its refusal (`bad_arg`) is its own one sentence. Gated: needs the
        unlocked link when a password is set."""
        return self._seen(_settings(self._call(proto.OP_CONFIG_SET, changes, older=NO_SETTINGS, own_words=True)))

    def _seen(self, settings: Settings) -> Settings:
        self._touch_default = settings.values.get("touch_default") is True
        return settings

    def move(self, label: str, issuer: str, to: int) -> Moved:
        """Put the account ``issuer``:``label`` at the 0-based position
        ``to`` of the token's order (its screen's and `list`'s); 0 pins it
        at the top."""
        r = self._call(
            proto.OP_MOVE,
            {"label": label, "issuer": issuer, "to": to},
            context=_named(label, issuer),
            older=NO_ORDER,
            own_words=True,
        )
        index, count = _whole(r.get("index")), _whole(r.get("accounts"))
        if index is None or count is None:
            raise TokenError(proto.E_INTERNAL, "The token's move reply holds no position; update its firmware.")
        return Moved(index=index, accounts=count)

    def list_accounts(self) -> list[AccountInfo]:
        # Paged, so a full token (100 accounts) never needs one huge reply line.
        raw: list[dict[str, Any]] = []
        while True:
            r = self._call(proto.OP_LIST, {"start": len(raw), "limit": LIST_PAGE})
            page = r.get("accounts", [])
            raw.extend(page)
            if not page or len(raw) >= int(r.get("total", len(raw))):
                break
        out = []
        for a in raw:
            out.append(
                AccountInfo(
                    label=str(a.get("label", "")),
                    issuer=str(a.get("issuer", "")),
                    type=shown(str(a.get("type", "totp"))),
                    algorithm=shown(str(a.get("algorithm", "sha1"))),
                    digits=int(a.get("digits", 6)),
                    period=int(a.get("period", 30)),
                    touch=bool(a.get("touch", False)),
                    counter=a.get("counter"),
                )
            )
        return out

    def delete(self, label: str, issuer: str = "") -> None:
        """Delete the account named ``issuer``:``label``."""
        self._call(proto.OP_DELETE, {"label": label, "issuer": issuer}, context=_named(label, issuer))

    def rename(self, label: str, new: str, *, issuer: str = "", new_issuer: str | None = None) -> None:
        """Rename the account ``issuer``:``label`` to ``new`` (and give it
        ``new_issuer``, unless None: then its issuer stays)."""
        args: dict[str, Any] = {"label": label, "issuer": issuer, "new": new}
        if new_issuer is not None:
            args["new_issuer"] = new_issuer
        try:
            self._call(proto.OP_RENAME, args, context=_named(label, issuer))
        except TokenError as exc:
            if exc.code == proto.E_EXISTS:  # the clash is with the new name
                then = issuer if new_issuer is None else new_issuer
                raise TokenError(exc.code, _sentence(exc.code, "", _named(new, then)), **exc.extra) from None
            raise

    def time_get(self) -> TokenTime:
        r = self._call(proto.OP_TIME_GET)
        t = r.get("time")
        return TokenTime(unix=int(t) if t is not None else None, clock=str(r.get("clock", "?")))

    def time_set(self, unix: int) -> TokenTime:
        r = self._call(proto.OP_TIME_SET, {"time": int(unix)})
        t = r.get("time", unix)
        return TokenTime(unix=int(t) if t is not None else None, clock=str(r.get("clock", proto.CLOCK_OK)))

    def code(self, label: str, issuer: str = "", *, touch: bool = False) -> Code:
        """The code of the account ``issuer``:``label`` at the token's own
        time (HOTP: its next counter)."""
        try:
            r = self._call(
                proto.OP_CODE,
                {"label": label, "issuer": issuer},
                context=_named(label, issuer),
                timeout=TOUCH_TIMEOUT if touch else CODE_TIMEOUT,
            )
        except KeyboardInterrupt:
            if touch:
                self.cancel_touch()
            raise
        t = r.get("time")
        c = r.get("counter")
        return Code(code=_code(r), time=int(t) if t is not None else None, counter=int(c) if c is not None else None)

    def cancel_touch(self) -> bool:
        """Tell the token to stop waiting for a press (after Ctrl-C); best
        effort. True when the token says it stopped a wait."""
        try:
            end_line = getattr(self.transport, "end_line", None)
            if end_line is not None:
                end_line()  # the interrupted request line may be half sent
            return bool(self._call(proto.OP_CANCEL, timeout=CODE_TIMEOUT).get("cancelled"))
        except Exception:  # the link is gone: the token gives up after 15 s by itself
            return False

    def wipe(self) -> None:
        self._call(proto.OP_WIPE)

    def verify(self, acct: Account, *, on_touch: Callable[[], None] | None = None) -> Check:
        """Ask the token for ``acct``'s code and compare it with the host's reference.

        For a touch account ``on_touch()`` is called first (to ask for the
        press). The code is checked at the token's own time, and the skew to
        this computer's clock is measured around the request. ``acct.touch``
        None (the token's default decided): the stored account says.
        """
        touch = acct.touch
        if touch is None:
            named = (acct.label, acct.issuer)
            touch = any(a.touch for a in self.list_accounts() if (a.label, a.issuer) == named)
        if acct.type == HOTP and not touch:
            return self.check_hotp(acct)
        if touch and on_touch is not None:
            on_touch()
        host_before = time.time()
        got = self.code(acct.label, acct.issuer, touch=touch)
        host_after = time.time()
        host_now = int((host_before + host_after) / 2)
        token_time = got.time
        if touch and acct.type == TOTP and token_time is not None:
            # The code is the press's, seconds into the wait: the skew is
            # measured by a quick time_get instead, not by the person's press.
            before = time.time()
            now = self.time_get().unix
            after = time.time()
            if now is not None:
                host_now = token_time - (now - int((before + after) / 2))
        if acct.type == TOTP and token_time is None:
            token_time = self.time_get().unix
            if token_time is None:
                raise TokenError(proto.E_CLOCK, "The token's clock is not set; set it with `otpfob time --set`.")
        return check_code(acct, got.code, token_time=token_time or 0, host_time=host_now, counter=got.counter)

    def check_hotp(self, acct: Account) -> Check:
        """Compare the host's code for ``acct`` with the token's at its stored
        counter, without using that counter up (op `check`): first at
        ``acct.counter``, then, if the token's counter is another, at that one."""
        counter = acct.counter
        for _ in range(2):
            ref, source = reference_hotp(acct, counter)
            r = self._call(
                proto.OP_CHECK,
                {"label": acct.label, "issuer": acct.issuer, "code": ref},
                context=_named(acct.label, acct.issuer),
            )
            theirs = r.get("counter")
            if r.get("match") is True or not isinstance(theirs, int) or theirs == counter:
                return Check(matches=r.get("match") is True, source=source, counter=counter, counter_used=False)
            counter = theirs
        return Check(matches=False, source=source, counter=counter, counter_used=False)

    # -- access control (docs/security.md) ----------------------------------

    def unlock(self, password: str, *, wait: float = 0, on_wait: Callable[[float], None] | None = None) -> None:
        """Unlock the token's gated operations for this link.

        Step 1 sends a challenge of our own and fetches the token's one-time
        challenge (with the salt, the iteration count and the token's proof
        that it holds the key); step 2 answers it with HMAC(key, challenge),
        only once the proof is right. A token
        that throttles for at most ``wait`` seconds is waited for (after
        ``on_wait(seconds)``) instead of refused.
        Raises TokenError: E_AUTH (wrong password), E_THROTTLED (with
        ``extra["retry_ms"]``), or E_AUTH when the token fails its proof.
        """
        self.unlock_with(
            lambda salt, iterations: access.derive_key(password, salt, iterations), wait=wait, on_wait=on_wait
        )

    def access_params(self) -> tuple[bytes, int]:
        """The token's access salt and iteration count (unlock's step 1, which
        needs nothing and counts as no try)."""
        _challenge, salt, iterations, _retry = self._unlock_step1()
        return salt, iterations

    def _unlock_step1(self) -> tuple[bytes, bytes, int, int]:
        return _step1(self._call(proto.OP_UNLOCK))

    def unlock_with(
        self,
        key_for: Callable[[bytes, int], bytes],
        *,
        wait: float = 0,
        on_wait: Callable[[float], None] | None = None,
    ) -> AccessKey:
        """`unlock` with the key from ``key_for(salt, iterations)``: a password
        derived now, or a key remembered earlier. Returns the key that worked.

        The host sends its challenge first and the token must prove that it
        holds the key before the host answers anything; an iteration count
        below the floor (``min_iterations``, or the most this token offered
        before) or above ``access.MAX_ITERATIONS`` is refused before any
        work. A good unlock opens a session: every later request is sealed
        (docs/protocol.md "Sessions")."""
        host_challenge = os.urandom(access.HOST_CHALLENGE_LEN)
        r = self._call(proto.OP_UNLOCK, {"host_challenge": host_challenge.hex()})
        challenge, salt, iterations, retry = _step1(r)
        floor = max(self.min_iterations, self.floors.floor(salt) if self.floors is not None else 0)
        if not floor <= iterations <= access.MAX_ITERATIONS:
            raise TokenError(
                proto.E_AUTH,
                f"The token asked for {iterations:,} PBKDF2 rounds, outside the {floor:,} to"
                f" {access.MAX_ITERATIONS:,} this otpfob accepts for it, so it may not be your token;"
                " nothing was sent to it.",
            )
        key = key_for(salt, iterations)  # the slow part, done while the token's delay runs
        try:
            proof = bytes.fromhex(str(r.get("proof", "")))
        except ValueError:
            proof = b""
        if not access.proof_ok(key, host_challenge, challenge, proof):
            raise TokenError(
                proto.E_AUTH,
                "The access password is wrong, or this is not the token it was set on.",
            )
        if retry > 0:
            if retry > wait * 1000:
                raise TokenError(proto.E_THROTTLED, _wait_sentence(retry), retry_ms=retry)
            if on_wait is not None:
                on_wait(retry / 1000)
            # A little over the token's delay: its clock (crystal, or an
            # emulator's) may run a touch slower than this computer's.
            time.sleep(retry / 1000 * 1.05 + 0.05)
        try:
            self._call(
                proto.OP_UNLOCK,
                {"response": access.mac(key, challenge).hex()},
                timeout=max(UNLOCK_TIMEOUT, getattr(self.transport, "timeout", 0)),
            )
        except TokenError as exc:
            if exc.code == proto.E_THROTTLED:
                retry_ms = exc.extra.get("retry_ms", 1000)
                raise TokenError(
                    exc.code, _wait_sentence(retry_ms if isinstance(retry_ms, int) else 1000), **exc.extra
                ) from None
            raise
        self._set_seal(access.Seal(access.session_key(key, challenge, host_challenge)))
        if self.floors is not None:
            self.floors.remember(salt, iterations)
        return AccessKey(key=key, salt=salt, iterations=iterations)

    def _set_seal(self, seal: access.Seal | None) -> None:
        if hasattr(self.transport, "seal"):
            self.transport.seal = seal

    @property
    def sealed(self) -> bool:
        """Is an unlocked session open (requests sealed)?"""
        return getattr(self.transport, "seal", None) is not None

    def lock(self, *, urgent: bool = False) -> None:
        """End the unlocked session (the token also ends it after 60 s idle).

        Sent sealed, then the seal is dropped whatever the answer: a session
        the token already ended answers `locked`, which is what we want.
        ``urgent`` (a signal handler): end whatever line was half sent first,
        and wait for the answer one second at most."""
        try:
            if urgent and hasattr(self.transport, "end_line"):
                self.transport.end_line()
            self._call(proto.OP_LOCK, timeout=1.0 if urgent else None)
        except TokenError as exc:
            if exc.code != proto.E_LOCKED:
                raise
        finally:
            self._set_seal(None)

    def set_access(self, password: str, *, iterations: int = access.ITERATIONS) -> None:
        """Set (or, on an unlocked link, change) the access password.

        The derived key crosses the wire this once, like YubiKey's SET CODE;
        the password itself never does. The link stays unlocked until `lock`.
        """
        salt = os.urandom(access.SALT_LEN)
        key = access.derive_key(password, salt, iterations)
        self.handshake()  # never send a key to something that is not otpfob firmware
        self._call(proto.OP_ACCESS_SET, {"key": key.hex(), "salt": salt.hex(), "iterations": iterations})
        # The token ended any session; open one with the new key (no PBKDF2 again).
        self._set_seal(None)
        if self.floors is not None:
            self.floors.remember(salt, iterations)
        self.unlock_with(lambda _salt, _iterations: key)

    def clear_access(self) -> None:
        """Remove the access password (the link must be unlocked)."""
        self._call(proto.OP_ACCESS_CLEAR)
        self._set_seal(None)  # no password, no session: requests go unsealed

    def factory_wipe(self) -> None:
        """Erase every account AND the access password; needs the token's button held down."""
        self._call(proto.OP_WIPE, {"factory": True})
        self._set_seal(None)


def _escaped(value: Any) -> Any:
    """A value from the token with every string in it made safe to print
    (names.shown): what the token sends is never printed raw."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {shown(str(k)): _escaped(v) for k, v in value.items()}
    return value


def _whole(value: Any) -> int | None:
    """A whole number from a reply (a JSON true is not one), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _settings(reply: dict[str, Any]) -> Settings:
    """A `config_get`/`config_set` reply, checked: each known setting's value
    of its kind (a bool, or a whole number), every name and string escaped."""
    raw = reply.get("settings")
    if not isinstance(raw, dict):
        raise TokenError(proto.E_INTERNAL, "The token's settings reply holds no settings; update its firmware.")
    # bool: a switch; a tuple: a choice's names; False: a whole number
    kinds: dict[str, Any] = {
        name: True if lo is None else (lo if hi is None else False) for name, _id, lo, hi, _what in proto.SETTINGS
    }
    values: dict[str, Any] = {}
    # The table's order (MicroPython's dicts keep none), then a newer firmware's.
    place = {name: n for n, name in enumerate(kinds)}
    for name, value in sorted(raw.items(), key=lambda kv: place.get(kv[0], len(place))):
        kind = kinds.get(name)
        if kind is True:
            ok = isinstance(value, bool)
        elif isinstance(kind, tuple):
            ok = isinstance(value, str) and value in kind
        else:
            ok = kind is None or _whole(value) is not None
        if not ok:
            raise TokenError(
                proto.E_INTERNAL, f"The token's settings reply gives {shown(name)} a wrong value; update its firmware."
            )
        values[shown(str(name))] = _escaped(value)
    return Settings(values=values, screen_locked=reply.get("screen_locked") is True)


def _code(reply: dict[str, Any]) -> str:
    """The code of a `code` reply: digits only (it is printed and compared)."""
    code = reply.get("code")
    if not isinstance(code, str) or not code.isascii() or not code.isdigit() or not 6 <= len(code) <= 10:
        raise TokenError(proto.E_INTERNAL, "The token's reply holds no valid code; update its firmware.")
    return code


def _step1(r: dict[str, Any]) -> tuple[bytes, bytes, int, int]:
    """(challenge, salt, iterations, retry_ms) of an unlock step 1 reply, checked."""
    challenge = _hex(r, "challenge", 8, 64)
    salt = _hex(r, "salt", proto.MIN_SALT, proto.MAX_SALT)
    iterations = r.get("iterations")
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1:
        raise TokenError(
            proto.E_INTERNAL, "The token's unlock reply has no valid iteration count; update its firmware."
        )
    retry = r.get("retry_ms", 0)
    return challenge, salt, iterations, retry if isinstance(retry, int) else 0


def _hex(reply: dict[str, Any], name: str, lo: int, hi: int) -> bytes:
    """A hex field of an unlock reply, checked, or a one-sentence error."""
    try:
        value = bytes.fromhex(str(reply[name]))
    except (KeyError, ValueError):
        value = b""
    if not lo <= len(value) <= hi:
        raise TokenError(proto.E_INTERNAL, f"The token's unlock reply has no valid {name}; update its firmware.")
    return value


def _wait_sentence(ms: int) -> str:
    seconds = max(1, (int(ms) + 999) // 1000)
    return (
        f"Too many wrong access passwords were tried; the token accepts the next try in {seconds} s"
        " (the wait doubles with each wrong one)."
    )
