"""`otpfob time`, `info` and `wipe`: the token itself, not one account."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import click

from fob import proto

from .. import clocksync, keystore, paths
from ..errors import EXIT_CLOCK, EXIT_OK, CliError, TokenError
from ..names import shown
from ..session import Info, Session
from .access import factory_wipe
from .context import current, token_options
from .util import MAX_JUMP, clock_fix, emit, json_option, skew_text, token_session, utc

ACCEPT_DRIFT = 30  # seconds of drift a service checking +-1 step of 30 s always accepts


@click.command("time")
@click.option("--set", "set_", is_flag=True, help="Set the token's clock to this computer's UTC (and learn its drift).")
@click.option("--force", is_flag=True, help="Allow --set to move a set clock by more than 5 minutes.")
@click.option("--no-calibrate", is_flag=True, help="With --set: keep the drift correction the token has.")
@json_option
@token_options()
def time_(set_: bool, force: bool, no_calibrate: bool, as_json: bool) -> int:
    """Show the token's clock, its history and drift; --set corrects it.

    The history lists the token's last clock moves (sets, jumps, stops) and
    flags a move forward that was later taken back: someone may have read
    codes of the future. --set sets the clock on an instant both sides
    agree on (good to about 50 ms) and, when the last set was such a sync at
    least a day before with no move since, the token learns its oscillator's
    rate from the two and corrects it (a DS3231's aging register, or in
    firmware); --no-calibrate keeps the old correction.

    --set refuses to move a token clock that was set before by more than 5
    minutes unless --force is given, so a computer with a wrong clock cannot
    silently break the token. A clock the token does not trust (never set,
    battery lost, or jumped) is set without --force. Without --set, exit
    code 3 says the clock is unset or over 30 s off, so services would
    refuse the token's codes.

    \b
    Examples:
      otpfob time
      otpfob time --set
      otpfob time --set --force
      otpfob time --json
    """
    session = current().session(unlock=set_)  # reading the clock and its history is never locked
    tok = session.time_get()
    host = int(time.time())
    trusted = tok.clock == proto.CLOCK_OK and tok.unix is not None
    drift = tok.unix - host if trusted and tok.unix is not None else None
    accept = drift is not None and abs(drift) <= ACCEPT_DRIFT
    history = clocksync.read_history(session)
    out: dict[str, Any] = {
        "token_time": tok.unix if trusted else None,
        "clock": tok.clock,
        "host_time": host,
        "drift": drift,
        "services_accept": accept,
        "set": False,
        "new_time": None,
        "offset_ms": None,
        "calibrated": False,
        "saturated": False,
    }
    out.update(_history_json(history))
    if not as_json:
        if trusted:
            click.echo(f"Token clock: {utc(tok.unix)}")
        else:
            state = {
                proto.CLOCK_UNSET: "not set",
                proto.CLOCK_JUMPED: "jumped, not trusted",
                proto.CLOCK_MISSING: "no RTC answers",
            }.get(tok.clock, f"not trusted ({tok.clock})")
            click.echo(f"Token clock: {state}; the token shows no codes until it is set")
        click.echo(f"Host clock:  {utc(host)}")
        if drift is not None:
            click.echo(f"Drift:       token is {skew_text(drift)}")
        _echo_history(history)
    if not set_:
        if not as_json:
            if not trusted:
                click.echo("Set it with `otpfob time --set`.")
            elif not accept:
                assert drift is not None
                click.echo(f"Services would refuse the token's codes; set its clock with {clock_fix(drift)}.")
        else:
            emit(out)
        return EXIT_OK if accept else EXIT_CLOCK
    # Only a trusted clock has a time worth protecting: an unset or jumped one
    # is known wrong (the token says "run otpfob time --set").
    if drift is not None and abs(drift) > MAX_JUMP and not force:
        raise CliError(
            f"Setting the clock would move it by {abs(drift)} s, more than {MAX_JUMP // 60} minutes; check this"
            f" computer's clock and add --force if it is right."
        )
    done = clocksync.sync(session, calibrate=not no_calibrate)
    out.update(
        {
            "set": True,
            "new_time": done.unix,
            "services_accept": True,
            "offset_ms": done.offset_ms,
            "calibrated": done.calibrated,
            "saturated": done.saturated,
        }
    )
    out.update(_history_json(clocksync.read_history(session)))
    if as_json:
        emit(out)
        return EXIT_OK
    click.echo(f"Set the token's clock to {utc(done.unix)} (on the second, to about 50 ms).")
    if done.offset_ms is not None:
        click.echo(f"It was {skew_text_ms(done.offset_ms)} just before.")
    if done.calibrated:
        rate = (done.rate_ppb or 0) / 1000
        click.echo(f"Learnt its drift: {rate:+.2f} ppm; correcting {done.correction_ppb / 1000:+.2f} ppm from now on.")
        if done.saturated:
            click.echo(
                f"The DS3231's aging offset is at its limit ({done.aging}); {rate - done.correction_ppb / 1000:+.2f}"
                " ppm stay uncorrected: set the clock more often, or fit a better module."
            )
    elif not no_calibrate:
        click.echo(
            "No drift learnt this time: that takes two such syncs at least a day apart with no other clock move"
            " between; run `otpfob time --set` again after a while."
        )
    return EXIT_OK


def skew_text_ms(ms: int) -> str:
    if ms == 0:
        return "in step with this computer"
    return f"{abs(ms) / 1000:.3f} s {'ahead of' if ms > 0 else 'behind'} this computer"


def _event_text(e: clocksync.ClockEvent) -> str:
    moved = e.moved
    by = f" ({moved:+d} s)" if moved is not None else ""
    if e.kind == "set":
        what = f"set from {utc(e.previous)} to {utc(e.new)}{by}"
        if e.calibrated:
            what += ", drift learnt"
    elif e.kind == "jump":
        what = f"jumped from about {utc(e.previous)} to {utc(e.new)}{by} by itself"
    elif e.kind == "stop":
        what = "oscillator stopped or clock never set (battery?)"
    else:
        what = f"unknown event {shown(e.kind)}"
    return f"  #{e.seq:<4d} {what}"


def _echo_history(h: clocksync.ClockHistory) -> None:
    if h.state == "none":
        return
    if h.state == "damaged":
        click.echo("History:     damaged on the token; it starts again with the next move")
    elif not h.events:
        click.echo("History:     no clock moves on record")
    else:
        new = f", {h.unread} new since last read" if h.unread else ""
        click.echo(f"History:     last {len(h.events)} clock moves{new} (oldest first)")
        for e in h.events:
            click.echo(_event_text(e))
    for fwd, back in h.taken_back():
        click.echo(
            f"Warning: the clock was set forward {fwd.moved} s (#{fwd.seq}) and later back (#{back.seq}): someone may"
            " have read codes of the future. If that was not you, check who had the token."
        )
    if h.rate_ppb or h.correction_ppb:
        rate = h.rate_ppb / 1000
        corr = h.correction_ppb / 1000
        aging = f" (DS3231 aging offset {h.aging})" if h.aging is not None else " (in firmware)"
        click.echo(f"Drift:       learnt {rate:+.2f} ppm, corrected {corr:+.2f} ppm{aging}")
        e30, e90 = h.expected_error_s(30), h.expected_error_s(90)
        if e30 is not None and e90 is not None:
            click.echo(f"Expected:    within {e30:.1f} s after 30 days, {e90:.1f} s after 90 days from a sync")


def _history_json(h: clocksync.ClockHistory) -> dict[str, Any]:
    return {
        "history": [dataclasses.asdict(e) for e in h.events],
        "history_state": h.state,
        "moves_unread": h.unread,
        "taken_back": [[f.seq, b.seq] for f, b in h.taken_back()],
        "rate_ppb": h.rate_ppb,
        "correction_ppb": h.correction_ppb,
        "aging": h.aging,
        "expected_error_month": h.expected_error_s(30),
        "expected_error_quarter": h.expected_error_s(90),
    }


def _key_remembered(session: Session) -> bool | None:
    """Is a key for the token's password in this computer's keyring?  None
    when no keyring can be asked.  (Unlock's first step gives the salt that
    names the entry; it counts as no try.)"""
    try:
        keystore.check()
    except keystore.KeystoreError:
        return None
    salt, iterations = session.access_params()
    return keystore.load(salt, iterations) is not None


def _lock_screen_on(session: Session) -> bool:
    """Is the lock-screen setting on (False on firmware without settings)?"""
    try:
        return session.config_get().values.get("lock_screen") is True
    except TokenError as exc:
        if exc.code == proto.E_OP:
            return False
        raise


def _power_text(i: Info) -> str:
    if i.power == "usb":
        return "USB"
    if i.battery_mv is None:
        return "battery (its voltage is not wired to the board)"
    text = f"battery, {i.battery_mv / 1000:.2f} V"
    if i.battery_percent is not None:
        text += f", about {i.battery_percent}%"
    if i.battery == "low":
        text += "; low: charge it soon"
    elif i.battery == "critical":
        text += "; empty: the token writes nothing until it is charged or on USB"
    return text


@click.command()
@json_option
@token_options()
def info(as_json: bool) -> None:
    """Show the token's firmware version, board, clock, accounts and free memory.

    Also its power (USB, or the battery's voltage and charge) and its access state: a password, a lock screen hiding codes, a
    wipe-after setting, and whether wrong passwords erased the accounts.

    \b
    Examples:
      otpfob info
      otpfob info --port /dev/ttyACM0 --json
    """
    state = current()
    session = state.session(unlock=False)  # info is never locked
    i = session.info()
    state.note_unused_password(i.access)
    remembered = _key_remembered(session) if i.access else None
    if as_json:
        emit({"port": session.transport.port, **dataclasses.asdict(i), "key_remembered": remembered})
        return
    click.echo(f"Port:        {session.transport.port}")
    click.echo(f"Firmware:    {i.version} (protocol {i.protocol})")
    click.echo(f"Board:       {i.board}")
    click.echo(f"Token id:    {i.token_id or 'none (this port has no unique id)'}")
    if i.exposure:
        click.echo(f"Exposure:    {shown(i.exposure)} ({paths.doc('security.md')})")
    clock = i.clock
    if i.clock == proto.CLOCK_OK:
        clock = f"ok, {utc(i.time)}"
    elif i.clock == proto.CLOCK_JUMPED:
        clock = f"jumped by {i.clock_jump:+d} s, codes withheld; check it and run `otpfob time --set`"
    elif i.clock == proto.CLOCK_UNSET:
        clock = "not set, codes withheld; run `otpfob time --set`"
    elif i.clock == proto.CLOCK_MISSING:
        clock = "no RTC answers; check its wiring"
    click.echo(f"Clock:       {clock}")
    moves = i.extra.get("clock_moves")
    if moves:
        click.echo(f"Clock moves: {moves} since its history was last read; see `otpfob time`")
    click.echo(
        f"Accounts:    {i.accounts} of {i.capacity}" + ("" if i.store == proto.STORE_OK else f" (store {i.store})")
    )
    click.echo(f"Free memory: {'unknown' if i.free is None else f'{i.free} bytes'}")
    if i.power is not None:
        click.echo(f"Power:       {_power_text(i)}")
    if i.access:
        state_text = "unlocked" if i.unlocked else "locked"
        click.echo(f"Access:      password set ({state_text} for this connection)")
        if remembered is None:
            click.echo("Remembered:  unknown (no usable keyring on this computer)")
        elif remembered:
            click.echo(f"Remembered:  yes, its key is in this computer's keyring ({keystore.describe()[0]})")
        else:
            click.echo("Remembered:  no (`otpfob access remember` keeps its key in the keyring)")
    else:
        click.echo("Access:      no password")
    if i.screen_locked:
        click.echo("Lock screen: on, hiding codes until the token is unlocked (`otpfob access unlock`)")
    elif i.access and _lock_screen_on(session):
        click.echo("Lock screen: on, showing codes: unlocked since power-on")
    if i.wipe_after:
        click.echo(f"Wipe after:  {i.wipe_after} wrong access passwords in a row erase every account")
    if i.wiped:
        click.echo(
            "Wiped:       the accounts were erased after wrong access passwords (this clears at the next unlock)"
        )
    if i.maintenance:
        click.echo("Maintenance: powered on with the button held; Ctrl-C on its USB serial is on")
    for k, v in sorted(i.extra.items()):
        if k == "clock_moves":
            continue  # said above
        click.echo(f"{(k.replace('_', ' ').capitalize() + ':'):<12} {shown(str(v))}")


@click.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--factory",
    is_flag=True,
    help="Also remove the access password (for a forgotten one); hold the token's button down.",
)
@token_options()
def wipe(yes: bool, factory: bool) -> None:
    """Remove every account from the token.

    --factory also removes the access password and needs no password, but
    the token's button must be held down while it runs.

    \b
    Examples:
      otpfob wipe --yes
      otpfob wipe --factory
    """
    if factory:
        factory_wipe(current().session(unlock=False), yes=yes)
        return
    session = token_session()
    n = session.info().accounts
    if not yes and n:
        what = "the token's only account" if n == 1 else f"all {n} accounts from the token"
        click.confirm(f"Remove {what}? This cannot be undone", abort=True, err=True)
    session.wipe()
    click.echo(f"Removed {n} account{'s' if n != 1 else ''}; the token is empty.")
