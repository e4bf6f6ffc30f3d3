"""otpfob.fleet: the sentence that says which token holds what when one of several fails.

The steps here are plain functions over a record of what each "token"
holds, so every branch (undone, not undoable, link lost, nothing done yet,
an import batch) is checked exactly; tests/emu/test_backup_cli.py runs the
same code against emulated tokens.
"""

from __future__ import annotations

import pytest

from otpfob.errors import OtpfobError, TokenError, TransportError
from otpfob.fleet import FleetError, Target, on_each
from otpfob.importing import BatchError


def targets(n: int) -> list[Target]:
    return [Target(f"/dev/tok{i}", None) for i in range(n)]  # type: ignore[arg-type]  # sessions unused here


def run(n: int, fail_at: int | None, exc: BaseException, *, undoable: bool = True, undo_fails: set[int] = frozenset()):
    held: dict[str, bool] = {}

    def step(t: Target) -> str:
        if fail_at is not None and t.port == f"/dev/tok{fail_at}":
            raise exc
        held[t.port] = True
        return t.port

    def undo(t: Target, _r: str) -> None:
        if int(t.port[-1]) in undo_fails:
            raise TransportError("the link broke", t.port)
        held[t.port] = False

    try:
        done = on_each(targets(n), step, what="the account 'a'", undo=undo if undoable else None)
        return done, held, None
    except FleetError as err:
        return None, held, err


def test_all_done():
    done, held, err = run(3, None, OtpfobError("x"))
    assert err is None and [d.result for d in done] == ["/dev/tok0", "/dev/tok1", "/dev/tok2"]


def test_a_failure_undoes_the_tokens_before_it():
    _, held, err = run(3, 1, TokenError("full", "The token is full (100 accounts); delete one first."))
    assert str(err) == (
        "Stopped at /dev/tok1 (The token is full (100 accounts); delete one first): the account 'a' is not on it;"
        " the account 'a' was removed again from /dev/tok0; /dev/tok2 was not changed; so no token holds it."
    )
    assert held == {"/dev/tok0": False}
    assert err.holding == [] and err.failed == "/dev/tok1" and err.untouched == ["/dev/tok0", "/dev/tok2"]


def test_a_lost_link_is_not_known_and_an_undo_that_fails_is_said():
    _, held, err = run(4, 3, TransportError("No otpfob firmware answered on /dev/tok3.", "/dev/tok3"), undo_fails={1})
    assert str(err) == (
        "Stopped at /dev/tok3 (No otpfob firmware answered on /dev/tok3): whether it took the account 'a' is not"
        " known (see `otpfob list --port /dev/tok3` once it is back); the account 'a' was removed again from"
        " /dev/tok0 and /dev/tok2; /dev/tok1 holds the account 'a'."
    )
    assert held == {"/dev/tok0": False, "/dev/tok1": True, "/dev/tok2": False}
    assert err.holding == ["/dev/tok1"]


def test_nothing_done_yet_is_the_tokens_own_sentence():
    _, held, err = run(2, 0, OtpfobError("The token's clock is not set."))
    assert str(err) == "The token's clock is not set; /dev/tok1 was not changed." and held == {}


def test_one_token_raises_its_own_error_unchanged():
    exc = OtpfobError("The token is full.")
    with pytest.raises(OtpfobError) as got:
        on_each(targets(1), lambda t: (_ for _ in ()).throw(exc), what="x")
    assert got.value is exc


def test_an_import_batch_is_not_undone_and_the_batch_sentence_is_kept():
    batch = BatchError("Loading stopped at 'b' (interrupted); on the token now: 'a'; not loaded: 'b'.", ["a"], ["b"])
    done_before: list[str] = []

    def step(t: Target) -> str:
        if t.port == "/dev/tok1":
            raise batch
        done_before.append(t.port)
        return t.port

    with pytest.raises(FleetError) as err:
        on_each(targets(3), step, what="the 2 accounts loaded", failed_holds=lambda _t, _e: "")
    assert str(err.value) == (
        "Stopped at /dev/tok1 (Loading stopped at 'b' (interrupted); on the token now: 'a'; not loaded: 'b');"
        " /dev/tok0 holds the 2 accounts loaded; /dev/tok2 was not changed."
    )
