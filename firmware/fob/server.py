# The serial protocol handler: one request line in, one reply line out.
#
# Pure logic (no I/O of its own), so it runs in CPython tests and fuzzers as
# well as on the token.  docs/protocol.md describes every op.
# Rules kept here:
#   - Every input gets exactly one reply line; no exception escapes.
#   - A refused request changes nothing.
#   - Nothing sent back ever holds key material: requests are never echoed,
#     and error messages are fixed sentences, not exception texts.
#   - Access control (docs/security.md): with a password set, the ops
#     marked gated in _OPS need an unlocked link; unlock is an HMAC challenge-response
#     whose failures are counted on flash before the answer is checked.
#   - A touch account's code is a deferred reply: handle_line() returns None
#     and the app calls touch_finish() once the button was pressed (or not),
#     so its loop keeps running meanwhile.
#   - No reply needs one large allocation: respond() writes a reply in small
#     pieces (a list reply one account at a time), so a full store answers
#     on a small, fragmented heap.  handle_line() joins the same pieces.

import json

from fob import VERSION, frame, otp, proto
from fob.access import Access, delay_ms, equal, hmac_sha256, proof, seal_of, session_key
from fob.args import MESSAGES, Reject, hexarg, integer, key_arg, text, tohex
from fob.settings import Settings, check_value
from fob.storage import StoreError
from fob.ticks import ticks_diff, ticks_ms
from fob.tokenid import token_id

try:
    import gc
except ImportError:
    gc = None

_TYPES = ("totp", "hotp")
_MAX_ID = 0x7FFFFFFF

# What a touch callback returns when the caller's loop will wait for the
# press and then call Server.touch_finish().
PENDING = "pending"

_NO_PASSWORD = "No access password is set."  # noqa: S105 - a sentence, not a password
_ACCESS_DAMAGED = "The access record is damaged: erase the token with otpfob wipe --factory."
_NO_SESSION = "No unlocked session is open: unlock again."
_BAD_SEAL = "The request's MAC or counter is wrong: the session has ended."


def _clockfine():
    # Loaded on first use: where the port compiles it (a source deploy, the
    # Unix-port token) a fragmented heap may fail the first try; what that
    # try took is garbage, so collect it and try once more.
    try:
        from fob import clockfine
    except MemoryError:
        if gc is None:
            raise
        gc.collect()
        from fob import clockfine
    return clockfine


class _Deferred(Exception):
    """The reply comes later (Server.touch_finish)."""


class _Items:
    """A reply value that is a list, written one item at a time (see
    Server.send): item(i) for each i of ``indexes``."""

    def __init__(self, indexes, item):
        self.indexes = indexes
        self.item = item


class Server:
    def __init__(
        self,
        store,
        clock,
        board="unknown",
        touch=None,
        button_held=None,
        access=None,
        ticks=ticks_ms,
        exposure=None,
        settings=None,
    ):
        self.store = store
        self.clock = clock
        self.board = board
        # Who can read this board's flash (docs/security.md): the board
        # file's EXPOSURE sentence; a bare server (tests, fuzzers) has none.
        self.exposure = exposure
        # touch(label) -> True/False (pressed or not), or PENDING: the caller
        # waits for the press and calls touch_finish().  None: no button.
        self.touch = touch
        # button_held() -> bool: is the button down now (factory wipe)?
        self.button_held = button_held
        self._ticks = ticks
        # The app builds Access beside the store and hands it in; a bare
        # server (tests, fuzzers) keeps it at the flash root.
        self.access = access if access is not None else Access(ticks=ticks)
        self.settings = settings if settings is not None else Settings()
        self.power = None  # fob.power.Power, set by the app (None: not sensed)
        self.wipe_if_due()  # a power cut may have come between a count and its wipe
        self.maintenance = False  # set by the app: Ctrl-C left on at boot
        # Per-link state: the unlocked session (its key and last counter),
        # the pending challenge, a deferred reply.
        self.unlocked = False
        self._session = None  # the session key while unlocked (docs/protocol.md "Sessions")
        self._seq = 0  # the last counter "n" accepted in this session
        self._sealed = False  # the request being handled carried a good MAC
        self._challenge = None
        self._host_challenge = b""
        self.pending = None  # (id, label) of a code waiting for a press
        self._rid = None
        self._last = ticks()  # last request, for the idle re-lock

    # ---- framing ----------------------------------------------------------
    def reply(self, rid, result):
        """A whole reply line (bytes); for results without an _Items value."""
        out = {"v": proto.VERSION, "id": rid, "ok": True}
        out.update(result)
        return (proto.REPLY_TAG + json.dumps(out) + "\n").encode()

    def send(self, reply, write):
        """Write a reply from _handle() through write(bytes), in pieces.

        A result with an _Items value is written as the JSON json.dumps would
        give for the whole object (the other keys, then the list last), but
        one item at a time, so the largest piece is one account, not the
        page.  The first item is built before anything is written: if it
        fails the reply is an error.  A later failure (out of memory) ends
        the list early but well formed: the host pages on from where it
        stopped (docs/protocol.md).
        """
        if isinstance(reply, bytes):
            write(reply)
            return
        rid, result = reply
        items = None
        out = {"v": proto.VERSION, "id": rid, "ok": True}
        for k in result:
            v = result[k]
            if isinstance(v, _Items):
                items = (k, v)
            else:
                out[k] = v
        if items is None:
            write((proto.REPLY_TAG + json.dumps(out) + "\n").encode())
            return
        name, it = items
        n = len(it.indexes)
        first = None
        if n:
            try:
                first = json.dumps(it.item(it.indexes[0]))
            except Exception as e:
                write(self._failure(rid, e))
                return
        head = json.dumps(out)
        write(proto.REPLY_TAG.encode())
        write(head[:-1].encode())  # without its "}"
        head = None
        write(b", " + json.dumps(name).encode() + b": [")
        if first is not None:
            write(first.encode())
            first = None
            for j in range(1, n):
                try:
                    piece = json.dumps(it.item(it.indexes[j]))
                except Exception:
                    break  # well formed, but short: see above
                write(b", ")
                write(piece.encode())
                piece = None
        write(b"]}\n")

    def error(self, rid, code, msg=None, extra=None):
        out = {
            "v": proto.VERSION,
            "id": rid,
            "ok": False,
            "err": code,
            "msg": msg or MESSAGES.get(code, "Bad argument."),
        }
        if extra:
            out.update(extra)
        return (proto.REPLY_TAG + json.dumps(out) + "\n").encode()

    def too_long(self):
        """Reply for a line the reader dropped for exceeding MAX_LINE."""
        return self.error(None, proto.E_TOO_LONG)

    def reset_session(self):
        """A new connection: forget an unlock, a challenge, a waiting code."""
        self.lock()
        self.pending = None

    def lock(self):
        """End the unlocked session (and any half-done unlock)."""
        self.unlocked = False
        self._session = None
        self._seq = 0
        self._challenge = None

    def tick(self):
        """Called often (the app loop): the idle re-lock and the throttle's clock.

        Also run at every request, so a server without a loop (tests) re-locks too.
        """
        now = self._ticks()
        if self.unlocked and ticks_diff(now, self._last) >= proto.IDLE_LOCK_MS:
            self.lock()
        self.access.tick(now)

    def due_ms(self, now):
        """Milliseconds until tick() re-locks an idle session; -1: nothing due."""
        if not self.unlocked:
            return -1
        d = proto.IDLE_LOCK_MS - ticks_diff(now, self._last)
        return d if d > 0 else 0

    def respond(self, line, write):
        """Handle one request line and write its reply line through
        write(bytes), in small pieces (see send).  False when the reply is
        deferred (a touch account's code: see touch_finish), else True."""
        reply = self._handle(line)
        if reply is None:
            return False
        self._send_safely(reply, write)
        return True

    def _send_safely(self, reply, write):
        # Every line gets one reply, even when building a piece fails (out
        # of memory): an error reply if nothing went out yet, else the line
        # is ended so the next reply stays framed.
        wrote = [False]

        def counted(piece):
            wrote[0] = True
            write(piece)

        try:
            self.send(reply, counted)
        except Exception as e:
            if wrote[0]:
                write(b"\n")
            else:
                write(self._failure(reply[0] if isinstance(reply, tuple) else None, e))

    def handle_line(self, line):
        """The reply line (bytes) for one request line, or None when the
        reply is deferred: respond()'s pieces, joined (tests, fuzzers)."""
        reply = self._handle(line)
        if reply is None:
            return None
        parts = []
        self._send_safely(reply, parts.append)
        return b"".join(parts)

    def _handle(self, line):
        # The reply: bytes (an error, or a short reply built whole), a
        # (rid, result) pair for send(), or None (deferred).
        self.tick()
        self._sealed = False
        rid = None
        try:
            if len(line) > proto.MAX_LINE:
                return self.too_long()
            try:
                # Strict JSON in strict UTF-8 first: the port's json is lenient
                # (see fob/frame.py), and line noise must never run an op.
                if not frame.valid(line):
                    raise ValueError
                text = str(line, "utf-8").strip()
                req = json.loads(text)
            except Exception:  # ValueError, UnicodeError, and ports' variants
                return self.error(None, proto.E_FRAME)
            if not isinstance(req, dict):
                return self.error(None, proto.E_FRAME)
            rid = req.get("id")
            if rid is not None and (not isinstance(rid, int) or isinstance(rid, bool) or rid < 0 or rid > _MAX_ID):
                return self.error(None, proto.E_FRAME, "id must be an integer from 0 to %d." % _MAX_ID)
            v = req.get("v")
            if not isinstance(v, int) or isinstance(v, bool) or v != proto.VERSION:
                return self.error(rid, proto.E_VERSION)
            op = req.get("op")
            entry = _OPS.get(op) if isinstance(op, str) else None
            if entry is None:
                return self.error(rid, proto.E_OP)
            allowed, gated, handler = entry
            if "mac" in req or "n" in req:
                self._unseal(line, req)
            for k in req:
                if k not in ("v", "id", "op", "n", "mac") and k not in allowed:
                    return self.error(rid, proto.E_ARG, "Unknown argument for this operation.")
            if gated:
                self._check_access(op, req)
            if op in _WRITES:
                self._check_power()
            self._rid = rid
            return (rid, handler(self, req))
        except _Deferred:
            return None
        except Exception as e:
            return self._failure(rid, e)

    def _failure(self, rid, e):
        if isinstance(e, Reject):
            return self.error(rid, e.code, e.msg, e.extra)
        if isinstance(e, StoreError):
            return self.error(rid, e.args[0])
        if isinstance(e, OSError):
            # A flash write or an I2C transfer failed mid-request.
            return self.error(rid, proto.E_HW)
        return self.error(rid, proto.E_INTERNAL)

    def _unseal(self, line, req):
        """Check a sealed request (docs/protocol.md "Sessions"): its MAC under
        the session key, and a counter above the last one.  Any fault ends
        the session.  Only a good one counts as activity for the idle lock."""
        if self._session is None:
            raise Reject(proto.E_LOCKED, _NO_SESSION)
        seal = seal_of(line)
        n = req.get("n")
        good = seal is not None and isinstance(n, int) and not isinstance(n, bool) and self._seq < n <= proto.MAX_SEQ
        if good:
            want = tohex(hmac_sha256(self._session, seal[0])[: proto.MAC_LEN]).encode()
            good = equal(want, seal[1])
        if not good:
            self.lock()
            raise Reject(proto.E_LOCKED, _BAD_SEAL)
        self._seq = n
        self._sealed = True
        self._last = self._ticks()

    def _check_access(self, op, args=None):
        # Only called for gated ops (see _OPS).
        if self._sealed or not self.access.is_set:
            return
        if op == proto.OP_WIPE and args is not None and args.get("factory") is True:
            return  # physical presence instead: see op_wipe
        if self.unlocked:
            # An unsealed request in a session: another program on the
            # port.  End the session rather than guess who is who.
            self.lock()
        raise Reject(proto.E_LOCKED)

    # ---- helpers ----------------------------------------------------------
    def _check_power(self):
        # A brown-out in the middle of a flash write must not be how the
        # token dies: below the critical voltage nothing is written.
        if self.power is not None and not self.power.writable():
            raise Reject(proto.E_BATTERY)

    def _readable(self):
        if self.store.state != proto.STORE_OK:
            raise Reject(proto.E_STORE)

    def _find(self, args):
        # An account is named by issuer and label together (protocol 2).
        label = text(args, "label", proto.MAX_LABEL)
        issuer = text(args, "issuer", proto.MAX_ISSUER, "", empty=True)
        self._readable()
        i = self.store.find(label, issuer)
        if i < 0:
            raise Reject(proto.E_NOT_FOUND)
        return i

    def _describe(self, i):
        s = self.store
        p = s.params(i)
        d = {
            "label": s.label(i),
            "issuer": s.issuer(i),
            "type": "hotp" if p.hotp else "totp",
            "algorithm": p.algorithm,
            "digits": p.digits,
            "touch": p.touch,
        }
        if p.hotp:
            d["counter"] = p.counter
        else:
            d["period"] = p.period
        return d

    # ---- ops ----------------------------------------------------------------
    def op_info(self, args):
        state, t = self.clock.peek()
        mem = None
        if gc is not None and hasattr(gc, "mem_free"):
            gc.collect()
            mem = gc.mem_free()
        r = {
            "version": VERSION,
            "proto": proto.VERSION,
            "board": self.board,
            "time": t,
            "clock": state,
            "clock_jump": getattr(self.clock, "jump_s", 0),
            # Clock moves (sets, jumps, stops) since the history was last read.
            "clock_moves": self.clock.log.unread if self.clock.log is not None else 0,
            "free": mem,
            "accounts": self.store.count(),
            "capacity": proto.MAX_ACCOUNTS,
            "store": self.store.state,
            "access": self.access.is_set,
            # May this request's sender use the gated ops now?  (A sealed
            # request in an unlocked session; true when no password is set.)
            "unlocked": self._sealed or not self.access.is_set,
            "maintenance": self.maintenance,
            "exposure": self.exposure,
            "token_id": token_id(),
            "screen_locked": self.settings.screen_locked(self.access),
            "wipe_after": self.settings.wipe_after,
            "wiped": self.settings.wiped(self.access),
        }
        pw = self.power
        if pw is not None:
            pw.update()
            r["power"] = "usb" if pw.state == "usb" else "battery"
            r["battery"] = None if pw.state == "usb" or pw.mv is None else ("ok" if pw.state == "battery" else pw.state)
            r["battery_mv"] = pw.mv
            r["battery_percent"] = pw.pct
        return r

    def op_list(self, args):
        self._readable()
        n = self.store.count()
        start = integer(args, "start", 0, proto.MAX_ACCOUNTS, 0)
        limit = integer(args, "limit", 1, proto.MAX_ACCOUNTS, proto.MAX_ACCOUNTS)
        # Written one account at a time (send): a page of 100 of the largest
        # accounts is about 9 KB of JSON on the Unix port, never one string.
        return {"total": n, "start": start, "accounts": _Items(range(start, min(n, start + limit)), self._describe)}

    def op_add(self, args):
        label = text(args, "label", proto.MAX_LABEL)
        issuer = text(args, "issuer", proto.MAX_ISSUER, "", empty=True)
        key = key_arg(args)
        alg = args.get("algorithm", "sha1")
        if alg not in proto.ALGORITHMS:
            raise Reject(proto.E_ARG, "algorithm must be one of sha1, sha256, sha512.")
        digits = integer(args, "digits", proto.MIN_DIGITS, proto.MAX_DIGITS, 6)
        period = integer(args, "period", proto.MIN_PERIOD, proto.MAX_PERIOD, 30)
        kind = args.get("type", "totp")
        if kind not in _TYPES:
            raise Reject(proto.E_ARG, "type must be totp or hotp.")
        counter = integer(args, "counter", 0, proto.MAX_COUNTER, 0)
        touch = args.get("touch", self.settings.touch_default)
        if not isinstance(touch, bool):
            raise Reject(proto.E_ARG, "touch must be true or false.")
        index = self.store.add(label, issuer, key, alg, digits, period, kind == "hotp", counter, touch)
        return {"index": index, "accounts": self.store.count(), "touch": touch}

    def op_delete(self, args):
        i = self._find(args)
        self.store.delete(i)
        return {"accounts": self.store.count()}

    def op_move(self, args):
        i = self._find(args)
        n = self.store.count()
        if not isinstance(args.get("to"), int) or isinstance(args["to"], bool) or not 0 <= args["to"] < n:
            raise Reject(proto.E_ARG, "to must be a position from 0 to %d." % (n - 1))
        self.store.move(i, args["to"])
        return {"index": args["to"], "accounts": n}

    def op_config_get(self, args):
        return {"settings": self.settings.values(), "screen_locked": self.settings.screen_locked(self.access)}

    def op_config_set(self, args):
        changes = {}
        for k in args:
            if k not in ("v", "id", "op", "n", "mac"):
                changes[k] = args[k]
        if not changes:
            raise Reject(proto.E_ARG, "Name at least one setting to change.")
        try:
            for name in changes:
                if check_value(name, changes[name]) and name in proto.NEEDS_PASSWORD and not self.access.is_set:
                    raise Reject(proto.E_ARG, proto.needs_password_error(name))
        except ValueError as e:
            raise Reject(proto.E_ARG, e.args[0])  # proto.setting_error's sentence
        self.settings.update(changes)
        return self.op_config_get(args)

    def wipe_if_due(self):
        """Erase the accounts once wipe_after wrong answers are counted.  Also
        run at boot: a cut between the count and the wipe still wipes."""
        if self.settings.wiped(self.access) and self.store.count():
            self.store.wipe()

    def _forget_protection(self):
        # Without a password the lock screen and wipe_after mean nothing.
        s = self.settings
        if s.lock_screen or s.wipe_after:
            s.update({"lock_screen": False, "wipe_after": 0})

    def op_rename(self, args):
        new = text(args, "new", proto.MAX_LABEL)
        issuer = None
        if "new_issuer" in args:
            issuer = text(args, "new_issuer", proto.MAX_ISSUER, empty=True)
        i = self._find(args)
        self.store.rename(i, new, issuer)
        issuer = self.store.issuer(i) if issuer is None else issuer
        return {"label": new, "issuer": issuer}

    # The clock ops' code lives in fob/clockfine.py, loaded on first use
    # (docs/protocol.md "Clock history and drift").
    def op_time_get(self, args):
        if args.get("edge", False) is False:
            # The everyday read (every `otpfob code` checks the clock):
            # answered without loading clockfine, which needs heap.
            state, t = self.clock.peek()
            return {"time": t, "clock": state}
        return _clockfine().time_get(self.clock, args)

    def op_time_set(self, args):
        return _clockfine().time_set(self.clock, args)

    def op_time_log(self, args):
        return _clockfine().time_log(self.clock, _Items)

    def op_code(self, args):
        i = self._find(args)
        p = self.store.params(i)
        if not p.hotp and self.clock.now()[0] != proto.CLOCK_OK:
            raise Reject(proto.E_CLOCK)  # before asking for a press in vain
        if p.touch:
            if self.pending is not None:
                raise Reject(proto.E_TOUCH, "Another code is waiting for a button press.")
            got = None if self.touch is None else self.touch(self.store.label(i))
            if got == PENDING:
                self.pending = (self._rid, self.store.label(i), self.store.issuer(i))
                raise _Deferred()
            if not got:
                raise Reject(proto.E_TOUCH)
        return self._code(i)

    def op_check(self, args):
        # Is ``code`` the HOTP account's code at its stored counter?  The
        # counter stays (a check uses up no code) and no code is sent.  A
        # touch account is refused: without a press the answer would be an
        # oracle for its next code.
        want = args.get("code")
        if not isinstance(want, str) or not proto.MIN_DIGITS <= len(want) <= proto.MAX_DIGITS or not want.isdigit():
            raise Reject(proto.E_ARG, "code must be 6 to 10 digits.")
        i = self._find(args)
        p = self.store.params(i)
        if not p.hotp or p.touch:
            raise Reject(proto.E_ARG, "check is for HOTP accounts without touch; use code.")
        if p.counter >= proto.MAX_COUNTER:
            raise Reject(proto.E_ARG, "The HOTP counter is exhausted.")
        got = otp.OtpKey(self.store.key(i), p.algorithm).hotp(p.counter, p.digits)
        return {"match": equal(got.encode(), want.encode()), "counter": p.counter}

    def op_cancel(self, args):
        # The host stopped waiting (Ctrl-C): so does the token, and its
        # screen leaves the "Press button" prompt (App._touch_step).  The
        # waiting request gets no reply; this one says whether one waited.
        waited = self.pending is not None
        self.pending = None
        return {"cancelled": waited}

    def touch_finish(self, pressed):
        """The deferred reply to the code waiting for a press (None if none).

        The account is looked up again and the link's access checked again:
        both may have changed while the button was awaited.
        """
        if self.pending is None:
            return None
        rid, label, issuer = self.pending
        self.pending = None
        try:
            if not pressed:
                raise Reject(proto.E_TOUCH)
            if self.access.is_set and not self.unlocked:
                raise Reject(proto.E_LOCKED)  # the session ended while the press was awaited
            return self.reply(rid, self._code(self._find({"label": label, "issuer": issuer})))
        except Exception as e:
            return self._failure(rid, e)

    def _code(self, i):
        p = self.store.params(i)
        key = otp.OtpKey(self.store.key(i), p.algorithm)
        if p.hotp:
            counter = p.counter
            if counter >= proto.MAX_COUNTER:
                raise Reject(proto.E_ARG, "The HOTP counter is exhausted.")
            self._check_power()
            code = key.hotp(counter, p.digits)
            # Persist first: a code is never given out twice.
            self.store.set_counter(i, counter + 1)
            return {"code": code, "counter": counter}
        state, t = self.clock.now()  # again: a touch may have taken seconds
        if state != proto.CLOCK_OK:
            raise Reject(proto.E_CLOCK)
        return {"code": key.totp(t, p.digits, p.period), "time": t, "period": p.period}

    def op_wipe(self, args):
        factory = args.get("factory", False)
        if not isinstance(factory, bool):
            raise Reject(proto.E_ARG, "factory must be true or false.")
        if not factory:
            self.store.wipe()
            return {"accounts": 0}
        # Physical presence: only someone holding the token can erase a
        # forgotten password (and, with it, every account).
        if self.button_held is None or not self.button_held():
            raise Reject(proto.E_BUTTON)
        self.store.wipe()  # accounts first: a cut in between never leaves them unguarded
        self.access.clear()
        self._forget_protection()
        self.lock()
        return {"accounts": 0, "access": False}

    # ---- access control (docs/security.md) ----------------------------------
    def op_unlock(self, args):
        a = self.access
        if a.damaged:
            raise Reject(proto.E_STORE, _ACCESS_DAMAGED)
        if a.key is None:
            raise Reject(proto.E_ARG, _NO_PASSWORD)
        if "response" not in args:
            # Step 1.  A new challenge replaces any earlier one.  With the
            # host's challenge the token proves first that it holds the key,
            # so the host answers nothing to a token that does not.
            host_challenge = b""
            if "host_challenge" in args:
                host_challenge = hexarg(args, "host_challenge", proto.MIN_HOST_CHALLENGE, proto.MAX_HOST_CHALLENGE)
            self._challenge = a.challenge()
            self._host_challenge = host_challenge
            out = {
                "challenge": tohex(self._challenge),
                "salt": tohex(a.salt),
                "iterations": a.iterations,
                "retry_ms": a.retry_ms(),
            }
            if host_challenge:
                out["proof"] = tohex(proof(a.key, host_challenge, self._challenge))
            return out
        # Step 2.
        if "host_challenge" in args:
            raise Reject(proto.E_ARG, "host_challenge belongs to the first unlock step.")
        response = hexarg(args, "response", proto.ACCESS_KEY_LEN, proto.ACCESS_KEY_LEN)
        challenge = self._challenge
        if challenge is None:
            raise Reject(proto.E_AUTH, "No challenge is pending: ask for one first.")
        wait = a.retry_ms()
        if wait:
            # Not checked and not counted: the answer may come again later.
            raise Reject(proto.E_THROTTLED, extra={"retry_ms": wait})
        self._challenge = None  # one answer per challenge
        a.count_failure()  # on flash before the check (and before any reply)
        if not equal(hmac_sha256(a.key, challenge), response):
            self.wipe_if_due()  # wipe_after: before the answer goes out
            # The whole delay, counted from the failure (a ms or so ago).
            raise Reject(proto.E_AUTH, extra={"retry_ms": delay_ms(a.failures)})
        a.succeeded()
        self.settings.screen_unlocked = True  # the lock screen, until power-off
        self.lock()  # a new session replaces any earlier one
        self._session = session_key(a.key, challenge, self._host_challenge)
        self.unlocked = True
        self._last = self._ticks()
        return {"unlocked": True}

    def op_lock(self, args):
        self.lock()
        return {"unlocked": not self.access.is_set}

    def op_access_set(self, args):
        # Gate: only with no password yet, or on an unlocked link.
        key = hexarg(args, "key", proto.ACCESS_KEY_LEN, proto.ACCESS_KEY_LEN)
        salt = hexarg(args, "salt", proto.MIN_SALT, proto.MAX_SALT)
        iterations = integer(args, "iterations", proto.MIN_ITERATIONS, proto.MAX_ITERATIONS)
        self.access.set(key, salt, iterations)
        # Locked now: the setter unlocks with the new key for a session of
        # its own (no session key comes out of this exchange).
        self.lock()
        return {"access": True}

    def op_access_clear(self, args):
        self.access.clear()
        self._forget_protection()
        self.lock()
        return {"access": False}


# The ops that write to flash (refused below the critical battery voltage;
# an HOTP code is refused in _code).  An unlock writes its failure count.
_WRITES = (
    proto.OP_ADD,
    proto.OP_DELETE,
    proto.OP_RENAME,
    proto.OP_TIME_SET,
    proto.OP_WIPE,
    proto.OP_UNLOCK,
    proto.OP_ACCESS_SET,
    proto.OP_ACCESS_CLEAR,
    proto.OP_CONFIG_SET,
    proto.OP_MOVE,
)

# One entry per operation: (allowed arguments besides v, id and op; gated:
# refused with E_LOCKED while a password is set and the link is locked;
# handler).  An argument not listed is refused, so a misspelt option never
# silently becomes a default.  A wipe with "factory": true passes the gate:
# it needs the button held instead (op_wipe).
_OPS = {
    proto.OP_INFO: ((), False, Server.op_info),
    proto.OP_LIST: (("start", "limit"), True, Server.op_list),
    proto.OP_ADD: (
        ("label", "issuer", "secret", "key", "algorithm", "digits", "period", "type", "counter", "touch"),
        True,
        Server.op_add,
    ),
    proto.OP_DELETE: (("label", "issuer"), True, Server.op_delete),
    proto.OP_RENAME: (("label", "issuer", "new", "new_issuer"), True, Server.op_rename),
    proto.OP_TIME_GET: (("edge",), False, Server.op_time_get),
    proto.OP_TIME_SET: (("time", "edge_ms", "calibrate"), True, Server.op_time_set),
    proto.OP_TIME_LOG: ((), False, Server.op_time_log),
    proto.OP_CODE: (("label", "issuer"), True, Server.op_code),
    proto.OP_CHECK: (("label", "issuer", "code"), True, Server.op_check),
    proto.OP_CANCEL: ((), False, Server.op_cancel),
    proto.OP_WIPE: (("factory",), True, Server.op_wipe),
    proto.OP_UNLOCK: (("host_challenge", "response"), False, Server.op_unlock),
    proto.OP_LOCK: ((), False, Server.op_lock),
    proto.OP_ACCESS_SET: (("key", "salt", "iterations"), True, Server.op_access_set),
    proto.OP_ACCESS_CLEAR: ((), True, Server.op_access_clear),
    proto.OP_CONFIG_GET: ((), False, Server.op_config_get),
    proto.OP_CONFIG_SET: (tuple(s[0] for s in proto.SETTINGS), True, Server.op_config_set),
    proto.OP_MOVE: (("label", "issuer", "to"), True, Server.op_move),
}
