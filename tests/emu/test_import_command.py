"""`otpfob import`: phone-app exports and URI lists into the emulated token,
through the real CLI.

Exports are made here with protobuf from our own migration.proto (1, 10 and
40 accounts; HOTP, SHA-256, SHA-512, 8 digits; split over several QR codes
by batch index and size), as text and as QR pictures made with segno. Every
account loaded is asked for its code over USB and compared with pyotp (or
the RFC where pyotp refuses). Skips (MD5, an unknown digit count, a label on
the token, a full token), a batch that fails part-way, and bad input
(a cut-short data=, bad Base64, a protobuf of another shape, no QR, two QRs,
a web address) are each checked, the last with an unchanged token.
"""

from __future__ import annotations

import base64
import random
import time
from urllib.parse import quote

import pyotp
import pytest

from otpfob.emu import leakscan
from otpfob.emu.testing import grouped, screen_code
from otpfob.migration_pb2 import MigrationPayload
from otpfob.session import Session, full_name
from otpfob.transport import SerialTransport
from otpfob.uri import Account
from support.cli import Transcript, in_pty, one_sentence, state, typed_at_terminal
from support.qr_images import blank_page, encode, qr_image, screenshot
from support.reference import expected_hotp, expected_totp

pytestmark = pytest.mark.emu

P = MigrationPayload
ALGS = {"sha1": P.ALGORITHM_SHA1, "sha256": P.ALGORITHM_SHA256, "sha512": P.ALGORITHM_SHA512, "md5": P.ALGORITHM_MD5}
DIGITS = {6: P.DIGIT_COUNT_SIX, 8: P.DIGIT_COUNT_EIGHT}


def make_accounts(n: int, rnd: random.Random) -> list[Account]:
    """n accounts of mixed kinds: every 4th HOTP, algorithms and digit counts rotating."""
    out = []
    for i in range(n):
        hotp = i % 4 == 3
        out.append(
            Account(
                label=f"user{i}@example.com",
                key=rnd.randbytes(rnd.choice([10, 16, 20, 32, 40])),
                issuer=f"Service {i % 7}" if i % 5 else "",
                type="hotp" if hotp else "totp",
                algorithm=["sha1", "sha256", "sha512"][i % 3],
                digits=8 if i % 2 else 6,
                counter=rnd.randrange(0, 10**6) if hotp else 0,
            )
        )
    return out


def param(acct: Account, *, algorithm=None, digits=None) -> MigrationPayload.OtpParameters:
    p = P.OtpParameters(secret=acct.key, name=acct.label, issuer=acct.issuer)
    p.algorithm = ALGS[acct.algorithm] if algorithm is None else algorithm
    p.digits = DIGITS[acct.digits] if digits is None else digits
    p.type = P.OTP_TYPE_HOTP if acct.type == "hotp" else P.OTP_TYPE_TOTP
    p.counter = acct.counter
    return p


def export_uris(accounts: list[Account], per_qr: int, batch_id: int = 1234) -> list[str]:
    """The export as the app writes it: one otpauth-migration:// URI per QR code."""
    chunks = [accounts[i : i + per_qr] for i in range(0, len(accounts), per_qr)]
    uris = []
    for index, chunk in enumerate(chunks):
        payload = P(version=1, batch_size=len(chunks), batch_index=index, batch_id=batch_id)
        payload.otp_parameters.extend(param(a) for a in chunk)
        uris.append(uri_of(payload.SerializeToString()))
    return uris


def uri_of(data: bytes) -> str:
    return "otpauth-migration://offline?data=" + quote(base64.b64encode(data).decode(), safe="")


# -- the token -------------------------------------------------------------------


@pytest.fixture
def otpfob(tok):
    t = Transcript(tok.port)
    yield t
    assert not leakscan.find(t.text.encode(), [k for k in _keys]), "a secret appears in otpfob's output"


_keys: list[bytes] = []


def keys_of(accounts: list[Account]) -> list[Account]:
    _keys.extend(a.key for a in accounts)
    return accounts


def assert_on_token(tok, accounts: list[Account]) -> None:
    """Every account is on the token with its settings, and its code (over USB) is pyotp's (or the RFC's)."""
    listed = {(a.issuer, a.label): a for a in state(tok)[0]}
    with Session(SerialTransport(tok.port)) as s:
        for acct in accounts:
            info = listed[acct.issuer, acct.label]
            assert (info.issuer, info.type, info.algorithm, info.digits) == (
                acct.issuer,
                acct.type,
                acct.algorithm,
                acct.digits,
            ), acct.label
            got = s.code(acct.label, acct.issuer)
            if acct.type == "hotp":
                assert got.counter == acct.counter  # the import's check used no counter
                want = expected_hotp(acct.key, got.counter, acct.digits, acct.algorithm)[0]
            else:
                want = expected_totp(acct.key, got.time, acct.digits, 30, acct.algorithm)[0]
            assert got.code == want, acct.label


# -- exports and URI lists ---------------------------------------------------------


def test_one_account_export_qr(otpfob, tok, tmp_path, seed):
    (acct,) = keys_of(make_accounts(1, random.Random(seed)))
    path = tmp_path / "export.png"
    path.write_bytes(encode(screenshot(qr_image(export_uris([acct], 1)[0]))))
    r = otpfob("import", str(path), "--all", "--delete-qr")
    assert "Found 1 account " in r.stdout and "matches" in r.stdout
    assert not path.exists()
    assert_on_token(tok, [acct])
    # What a person reads off the screen is pyotp's code too.
    tok.press()  # wake the screen
    text = tok.wait_for_screen(
        lambda t: screen_code(t) == grouped(expected_totp(acct.key, int(tok.clock.now()), 6, 30, "sha1")[0]), 5
    )
    assert acct.label[:10] in text


def test_ten_accounts_as_text(otpfob, tok, tmp_path, seed):
    accounts = keys_of(make_accounts(10, random.Random(seed + 1)))
    assert {a.type for a in accounts} == {"totp", "hotp"} and {a.digits for a in accounts} == {6, 8}
    assert {a.algorithm for a in accounts} == {"sha1", "sha256", "sha512"}
    path = tmp_path / "export.txt"
    path.write_text(export_uris(accounts, 10)[0] + "\n")
    r = otpfob("import", str(path), "--all")
    for a in accounts:
        assert a.label in r.stdout
        assert base64.b32encode(a.key).decode().rstrip("=") not in r.stdout
    assert "Loaded 10 accounts." in r.stdout
    assert_on_token(tok, accounts)


def test_forty_accounts_over_four_qr_codes_in_any_order(otpfob, tok, tmp_path, seed):
    rnd = random.Random(seed + 2)
    accounts = keys_of(make_accounts(40, rnd))
    files = []
    for n, uri in enumerate(export_uris(accounts, 10)):
        path = tmp_path / f"part{n}.png"
        path.write_bytes(encode(qr_image(uri, scale=3)))
        files.append(str(path))
    r = otpfob("import", *files[:3], "--all", code=None)  # a part missing: nothing loaded
    assert r.exit_code != 0 and "part 4 is missing" in one_sentence(r.stderr)
    assert state(tok)[0] == []
    rnd.shuffle(files)
    r = otpfob("import", *files, "--all", "--keep-qr")
    assert "Loaded 40 accounts." in r.stdout
    assert [a.label for a in state(tok)[0]] == [a.label for a in accounts]  # in the export's order
    assert_on_token(tok, accounts)


def test_aws_style_uri_lines(otpfob, tok, tmp_path, rng):
    keys = keys_of([Account("x", rng.randbytes(40)), Account("y", rng.randbytes(20))])
    text = (
        "# two accounts\n"
        f"otpauth://totp/alice@123456789012?secret={base64.b32encode(keys[0].key).decode()}\n\n"
        f"otpauth://totp/GitHub:bob?secret={base64.b32encode(keys[1].key).decode().lower()}&issuer=GitHub\n"
    )
    r = otpfob("import", "-", "--all", input=text)
    assert "Loaded 2 accounts." in r.stdout
    listed = state(tok)[0]
    assert [(a.label, a.issuer) for a in listed] == [("alice@123456789012", ""), ("bob", "GitHub")]
    with Session(SerialTransport(tok.port)) as s:
        for acct, key in zip(listed, keys, strict=True):
            got = s.code(acct.label, acct.issuer)
            assert got.code == pyotp.TOTP(base64.b32encode(key.key).decode()).at(got.time)


# -- what is skipped, and why ----------------------------------------------------------


def two_skipped(rnd: random.Random) -> tuple[list[Account], bytes]:
    """Four TOTP accounts and an export of them whose second (MD5) and third
    (a digit count the format does not name) the token cannot hold."""
    accounts = keys_of(make_accounts(4, rnd))
    for a in accounts:
        a.type, a.counter = "totp", 0
    payload = P(version=1, batch_size=1)
    payload.otp_parameters.extend(
        [
            param(accounts[0]),
            param(accounts[1], algorithm=P.ALGORITHM_MD5),
            param(accounts[2], digits=3),
            param(accounts[3]),
        ]
    )
    return accounts, payload.SerializeToString()


def test_skips_md5_digits_and_duplicates_then_force_replaces(otpfob, tok, seed, rng):
    accounts, export = two_skipped(random.Random(seed + 3))
    uri = uri_of(export)
    old_key = keys_of([Account("old", rng.randbytes(20))])[0].key
    otpfob(
        "provision",
        "--secret",
        base64.b32encode(old_key).decode(),
        "--label",
        accounts[3].label,
        "--issuer",
        accounts[3].issuer,
    )  # the same issuer and label: the same account

    r = otpfob("import", "-", "--all", input=uri)
    out = r.stdout
    assert "MD5" in out and "digit count" in out and "--force replaces it" in out
    assert "Loaded 1 account; skipped 3" in out
    assert_on_token(tok, [accounts[0]])

    r = otpfob("import", "-", "--all", "--force", input=uri)
    assert "replaces the token's account" in r.stdout and "Loaded 2 accounts; skipped 2" in r.stdout
    assert sorted(a.label for a in state(tok)[0]) == sorted([accounts[0].label, accounts[3].label])
    assert_on_token(tok, [accounts[3]])  # the new secret, not the old one


def test_full_token_skips_the_rest(otpfob, tok, seed, rng):
    with Session(SerialTransport(tok.port)) as s:
        capacity = s.info().capacity
        for i in range(capacity - 2):
            s.add(Account(f"filler{i}", rng.randbytes(16)))
    accounts = keys_of(make_accounts(5, random.Random(seed + 4)))
    r = otpfob("import", "-", "--all", input=export_uris(accounts, 5)[0])
    assert r.stdout.count("the token is full") == 3 and "Loaded 2 accounts; skipped 3" in r.stdout
    assert_on_token(tok, accounts[:2])
    assert len(state(tok)[0]) == capacity


def test_batch_failing_part_way_says_what_is_on_the_token(otpfob, tok, seed, monkeypatch):
    accounts = keys_of(make_accounts(6, random.Random(seed + 5)))
    for a in accounts:
        a.type, a.counter = "totp", 0
    real_add = Session.add
    added = []

    def add(self, acct):
        added.append(acct.label)
        if len(added) == 4:
            tok.remove_part("ds3231")  # the clock comes off the bus: the 4th account cannot be checked
        return real_add(self, acct)

    monkeypatch.setattr(Session, "add", add)
    r = otpfob("import", "-", "--all", input=export_uris(accounts, 6)[0], code=None)
    monkeypatch.undo()
    msg = one_sentence(r.stderr)
    assert r.exit_code != 0 and msg.startswith(
        f"Loading stopped at '{full_name(accounts[3].label, accounts[3].issuer)}'"
    )
    on, off = msg.split("on the token now: ")[1].split("; not loaded: ")
    assert on == ", ".join(repr(full_name(a.label, a.issuer)) for a in accounts[:3])
    assert off.rstrip(".") == ", ".join(repr(full_name(a.label, a.issuer)) for a in accounts[3:])
    assert [a.label for a in state(tok)[0]] == [a.label for a in accounts[:3]]  # the 4th was taken off again
    tok.add_part("ds3231")
    with Session(SerialTransport(tok.port)) as s:
        s.time_set(int(time.time()))  # a clock that went missing is trusted again only once set
    assert_on_token(tok, accounts[:3])


def test_interactive_pick_in_a_terminal(tok, tmp_path, seed):
    accounts = keys_of(make_accounts(5, random.Random(seed + 6)))
    path = tmp_path / "export.txt"
    path.write_text(export_uris(accounts, 5)[0])
    returncode, out, err = typed_at_terminal(["--port", tok.port, "import", str(path)], b"2,4-5\n")
    assert returncode == 0, err
    assert "Load which accounts?" in err and "Loaded 3 accounts; 2 not picked." in out
    picked = [accounts[1], accounts[3], accounts[4]]
    assert [a.label for a in state(tok)[0]] == [a.label for a in picked]
    assert not leakscan.find((out + err).encode(), [a.key for a in accounts])
    assert_on_token(tok, picked)


def _export_with_two_skipped(tmp_path, seed):
    accounts, export = two_skipped(random.Random(seed + 8))
    path = tmp_path / "export.png"
    path.write_bytes(encode(qr_image(uri_of(export))))
    return accounts, path


def test_enter_loads_every_account_not_skipped_and_keeps_the_image(tok, tmp_path, seed):
    """Issue 23, item 2: the default answer works with skipped entries, and an
    image whose accounts are not all on the token is kept by default."""
    accounts, path = _export_with_two_skipped(tmp_path, seed)
    code, shown = in_pty(
        ["--port", tok.port, "import", str(path)],
        [("Load which accounts?", "\n"), ("[y/N]", "\n")],
    )
    assert code == 0, shown
    assert "(all: the 2 not skipped)" in shown and "Loaded 2 accounts; skipped 2" in shown
    assert "2 of its accounts are not on the token" in shown and "Kept" in shown
    assert path.exists()
    assert [(a.issuer, a.label) for a in state(tok)[0]] == [(a.issuer, a.label) for a in (accounts[0], accounts[3])]
    assert_on_token(tok, [accounts[0], accounts[3]])


def test_picking_a_skipped_entry_asks_again(tok, tmp_path, seed):
    accounts, path = _export_with_two_skipped(tmp_path, seed)
    code, shown = in_pty(
        ["--port", tok.port, "import", str(path)],
        [("Load which accounts?", "2\n"), ("pick others", "4\n"), ("[y/N]", "y\n")],
    )
    assert code == 0, shown
    assert "Account 2 is skipped" in shown, shown
    assert "Loaded 1 account; skipped 2 (see the NOTE column); 1 not picked." in shown, shown
    assert not path.exists()
    assert_on_token(tok, [accounts[3]])


def test_without_a_terminal_all_is_needed(otpfob, tok):
    accounts = keys_of(make_accounts(2, random.Random(7)))
    r = otpfob("import", "-", input=export_uris(accounts, 2)[0], code=None)
    assert r.exit_code != 0 and "--all" in one_sentence(r.stderr)
    assert accounts[0].label in r.stdout  # the list was shown first
    assert state(tok)[0] == []


# -- bad input: one sentence, non-zero, token unchanged ------------------------------------


def _good_export() -> str:
    return export_uris(keys_of(make_accounts(3, random.Random(11))), 3)[0]


def _wrong_shape() -> str:
    # A valid protobuf, but not a MigrationPayload: field 1 holds a varint, field 9 a string.
    return uri_of(b"\x08\x96\x01\x4a\x05hello")


BAD = {
    "truncated data": (lambda: _good_export()[:-40], ("cut short", "not valid Base64")),
    "bad base64": (lambda: "otpauth-migration://offline?data=%%%not*base64!!", ("not valid Base64",)),
    "no data": (lambda: "otpauth-migration://offline?x=1", ("no data=",)),
    "wrong shape": (lambda: _wrong_shape(), ("not a phone-app export",)),
    "other message with a field 1": (lambda: uri_of(b"\x0a\x02\x08\x05"), ("not a phone-app export",)),
    "no accounts": (lambda: uri_of(P(version=1).SerializeToString()), ("holds no accounts",)),
    "not a URI": (lambda: "hello world", ("is neither an otpauth:// URI",)),
    "not a URI on line 3": (lambda: _good_export() + "\n\nhello world\n", ("Line 3 is neither",)),
    "bad URI line": (lambda: "otpauth://totp/a?secret=not!base32", ("not valid Base32",)),
    "bad URI on line 2": (lambda: _good_export() + "\notpauth://totp/a?secret=", ("Line 2: The URI has no secret",)),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_text_changes_nothing(otpfob, tok, name, rng):
    otpfob("provision", "--secret", base64.b32encode(rng.randbytes(20)).decode(), "--label", "keep")
    before = state(tok)
    make, words = BAD[name]
    r = otpfob("import", "-", "--all", input=make(), code=None)
    assert r.exit_code != 0 and r.stdout == ""
    msg = one_sentence(r.stderr)
    assert any(w in msg for w in words), msg
    assert state(tok) == before


IMAGES = {
    "no QR": (lambda: encode(blank_page()), "No QR code"),
    "two QRs": (
        lambda: encode(
            screenshot(qr_image(_good_export(), scale=2), qr_image("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP"))
        ),
        "2 QR codes",
    ),
    "URL QR": (lambda: encode(qr_image("https://accounts.example.com/2fa")), "web address"),
    "truncated export in a QR": (lambda: encode(qr_image(_good_export()[:-40])), "otpauth-migration"),
}


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_bad_images_change_nothing(otpfob, tok, tmp_path, name, rng):
    otpfob("provision", "--secret", base64.b32encode(rng.randbytes(20)).decode(), "--label", "keep")
    before = state(tok)
    make, words = IMAGES[name]
    path = tmp_path / "bad.png"
    path.write_bytes(make())
    r = otpfob("import", str(path), "--all", "--delete-qr", code=None)
    assert r.exit_code != 0 and r.stdout == ""
    assert words in one_sentence(r.stderr)
    assert state(tok) == before and path.exists()


def test_a_cut_during_a_forced_replace_names_the_copy_it_may_leave(otpfob, tok, seed, monkeypatch, rng):
    """Power cut while the replacement is checked (issue 22): the old account
    stays, and the message names the temporary copy, which is on the token."""
    (acct,) = keys_of(make_accounts(1, random.Random(seed + 9)))
    acct.type, acct.counter = "totp", 0
    payload = P(version=1, batch_size=1)
    payload.otp_parameters.extend([param(acct)])
    old_key = rng.randbytes(20)
    otpfob(
        "provision",
        "--secret",
        "-",
        "--label",
        acct.label,
        "--issuer",
        acct.issuer,
        input=base64.b32encode(old_key).decode() + "\n",
    )

    real_verify = Session.verify

    def cut(self, target, **kw):
        tok.power_cut()  # the code request goes unanswered, and so does the clean-up
        return real_verify(self, target, **kw)

    monkeypatch.setattr(Session, "verify", cut)
    r = otpfob("import", "-", "--all", "--force", input=uri_of(payload.SerializeToString()), code=None)
    monkeypatch.undo()
    msg = one_sentence(r.stderr)
    assert r.exit_code != 0 and "its unchecked new copy may be left on the token as 'otpfob-import-" in msg, msg
    stray = msg.split("left on the token as '")[1].split("'")[0]
    tok.restart()
    labels = sorted(a.label for a in state(tok)[0])
    assert labels == sorted([acct.label, stray])  # the old account kept, the named copy beside it
    otpfob("delete", stray, "--yes")
    assert [a.label for a in state(tok)[0]] == [acct.label]
