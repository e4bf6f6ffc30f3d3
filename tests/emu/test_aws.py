"""`otpfob aws enable-mfa` and `otpfob aws resync` end to end: the real CLI,
boto3, moto's IAM in server mode (started here on 127.0.0.1), and the
emulated token.

The seed moto hands out is read from moto's own backend and checked against
the token's codes with pyotp; the two codes sent to EnableMFADevice and
ResyncMFADevice must be the seed's codes of two consecutive periods (moto
does not check them, so this test's IAM does, as AWS does; moto has no
ResyncMFADevice, so the test adds it). No output, even at --log-level debug,
holds the seed. Failures after the device was created leave nothing behind,
or say what is left; running again is safe.
"""

from __future__ import annotations

import base64
import logging
import time

import boto3
import pyotp
import pytest
import requests
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import EmptyResult
from moto.iam.exceptions import IAMException
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse
from moto.server import ThreadedMotoServer

from otpfob.emu import leakscan
from otpfob.session import Session
from otpfob.transport import SerialTransport
from support.cli import one_sentence, state

pytestmark = pytest.mark.emu

ACCOUNT = DEFAULT_ACCOUNT_ID  # moto's account id, 123456789012


class InvalidAuthenticationCode(IAMException):
    code = "InvalidAuthenticationCode"


def backend():
    return iam_backends[ACCOUNT]["aws"]


def seed_of(serial: str) -> str:
    return backend().virtual_mfa_devices[serial].base32_string_seed


def consecutive(seed: str, code1: str, code2: str) -> bool:
    """Are these the seed's codes of two consecutive periods near now (as AWS checks)?"""
    totp = pyotp.TOTP(seed)
    now = int(time.time()) // 30
    return any(totp.at(s * 30) == code1 and totp.at((s + 1) * 30) == code2 for s in range(now - 3, now + 2))


SEEN: list[tuple[str, str, str, str]] = []  # (action, serial, code1, code2) as the IAM server got them
_enable = IamResponse.enable_mfa_device
_delete = IamResponse.delete_virtual_mfa_device


def checked_enable(self):
    serial = self._get_param("SerialNumber")
    c1, c2 = self._get_param("AuthenticationCode1"), self._get_param("AuthenticationCode2")
    SEEN.append(("enable", serial, c1, c2))
    device = self.backend.virtual_mfa_devices.get(serial)
    if device is not None and not consecutive(device.base32_string_seed, c1, c2):
        raise InvalidAuthenticationCode("Authentication code for device is not valid.")
    return _enable(self)


def resync_mfa_device(self):
    user = self.backend.get_user(self._get_param("UserName"))
    serial = self._get_param("SerialNumber")
    c1, c2 = self._get_param("AuthenticationCode1"), self._get_param("AuthenticationCode2")
    SEEN.append(("resync", serial, c1, c2))
    if serial not in user.mfa_devices:
        raise InvalidAuthenticationCode("The MFA device is not assigned to this user.")
    if not consecutive(self.backend.virtual_mfa_devices[serial].base32_string_seed, c1, c2):
        raise InvalidAuthenticationCode("Authentication code for device is not valid.")
    return EmptyResult()


@pytest.fixture(scope="module")
def iam_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def iam(iam_url, monkeypatch, tmp_path):
    """A fresh IAM with the user alice; boto3 in this process (the CLI's too) talks only to it."""
    requests.post(f"{iam_url}/moto-api/reset", timeout=10).raise_for_status()
    for name, value in {
        "AWS_ENDPOINT_URL_IAM": iam_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",  # never look for instance credentials off this machine
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(IamResponse, "enable_mfa_device", checked_enable)
    monkeypatch.setattr(IamResponse, "resync_mfa_device", resync_mfa_device, raising=False)
    SEEN.clear()
    client = boto3.client("iam")
    client.create_user(UserName="alice")
    return client


def near_period_end(tok, left: float = 2.0) -> None:
    """Put the token's clock ``left`` s before the end of this computer's
    current period (less than a period of skew, which AWS accepts), so the
    wait for the second code is short."""
    tok.clock.set((int(time.time()) // 30 + 1) * 30 - left)


@pytest.fixture
def tok(token):
    """The token, emptied, its clock near the end of a period."""
    token.clock.run()
    near_period_end(token)
    with Session(SerialTransport(token.port)) as s:
        s.wipe()
    return token


def error_of(r) -> str:
    """The error sentence: stderr's last line (a wait for the second code may come before it)."""
    lines = r.stderr.strip().splitlines()
    assert all(line.startswith("Waiting ") for line in lines[:-1]), r.stderr
    return one_sentence(lines[-1])


def no_seed_in(text: str, seed: str) -> None:
    """Neither the seed's Base32 text, nor its key (raw, hex, Base32), nor the
    Base64 that carries it in IAM's XML reply, is in ``text``."""
    key = base64.b32decode(seed)
    assert seed not in text and seed.lower() not in text
    assert base64.b64encode(seed.encode()).decode()[:40] not in text
    assert not leakscan.find(text.encode(), [key])


def assert_token_has(tok, label: str, seed: str) -> None:
    (acct,) = [a for a in state(tok)[0] if a.label == label]
    assert (acct.issuer, acct.algorithm, acct.digits, acct.period) == ("AWS", "sha1", 6, 30)
    with Session(SerialTransport(tok.port)) as s:
        got = s.code(label, "AWS")
    assert got.code == pyotp.TOTP(seed).at(got.time)


def test_enable_mfa_end_to_end(otpfob, tok, iam, caplog):
    caplog.set_level(logging.DEBUG)  # every logger in the process at DEBUG, boto3's too
    r = otpfob("--log-level", "debug", "aws", "enable-mfa", "--user-name", "alice")
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/alice"
    assert r.stdout.strip().endswith(f"MFA serial number: {serial}")
    seed = seed_of(serial)
    assert len(seed) == 64
    no_seed_in(otpfob.text, seed)
    assert "127.0.0.1" in caplog.text  # the requests were logged (urllib3, werkzeug), their bodies not
    no_seed_in(caplog.text, seed)
    assert_token_has(tok, f"alice@{ACCOUNT}", seed)
    ((action, got_serial, c1, c2),) = SEEN
    assert (action, got_serial) == ("enable", serial) and consecutive(seed, c1, c2)
    assert f"First code: {c1}" in r.stdout and f"Second code: {c2}" in r.stdout
    devices = iam.list_mfa_devices(UserName="alice")["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]

    # Enabled already: refused, and neither AWS nor the token changes.
    before = state(tok)
    r = otpfob("aws", "enable-mfa", "--user-name", "alice", code=None)
    assert r.exit_code != 0 and "already has the MFA device" in error_of(r)
    assert state(tok) == before and len(backend().virtual_mfa_devices) == 1

    # Out of sync: two fresh consecutive codes go to ResyncMFADevice.
    near_period_end(tok)
    r = otpfob("aws", "resync", "--user-name", "alice")
    assert f"Resynchronised {serial}" in r.stdout
    action, got_serial, c1, c2 = SEEN[-1]
    assert (action, got_serial) == ("resync", serial) and consecutive(seed, c1, c2)
    no_seed_in(otpfob.text, seed)


def test_device_name_label_and_leftover_from_an_earlier_try(otpfob, tok, iam):
    iam.create_user(UserName="bob")
    leftover = iam.create_virtual_mfa_device(VirtualMFADeviceName="bob-token")["VirtualMFADevice"]["SerialNumber"]
    r = otpfob("aws", "enable-mfa", "-U", "bob", "--device-name", "bob-token", "--label", "aws-bob", "--issuer", "AWS")
    assert f"Deleting {leftover}" in r.stdout
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/bob-token"
    assert_token_has(tok, "aws-bob", seed_of(serial))
    assert list(backend().virtual_mfa_devices) == [serial]
    near_period_end(tok)
    r = otpfob("aws", "resync", "-U", "bob", "--label", "aws-bob")
    assert f"Resynchronised {serial}" in r.stdout
    action, got_serial, c1, c2 = SEEN[-1]
    assert (action, got_serial) == ("resync", serial) and consecutive(seed_of(serial), c1, c2)
    r = otpfob("aws", "resync", "-U", "bob", "--serial-number", "mfa/bob-token", code=None)
    assert r.exit_code != 0 and "virtual MFA device's ARN" in error_of(r)
    no_seed_in(otpfob.text, seed_of(serial))


def test_failure_after_creation_removes_what_was_made(otpfob, tok, iam, monkeypatch):
    def refuse(self):
        raise InvalidAuthenticationCode("Authentication code for device is not valid.")

    monkeypatch.setattr(IamResponse, "enable_mfa_device", refuse)
    before = state(tok)
    r = otpfob("aws", "enable-mfa", "--user-name", "alice", code=None)
    msg = error_of(r)
    assert r.exit_code != 0 and "InvalidAuthenticationCode" in msg and "running this again is safe" in msg
    assert state(tok) == before and backend().virtual_mfa_devices == {}

    # The clean-up fails too: the sentence says what exists and how to delete it.
    monkeypatch.setattr(IamResponse, "delete_virtual_mfa_device", refuse)
    near_period_end(tok)
    r = otpfob("aws", "enable-mfa", "--user-name", "alice", code=None)
    msg = error_of(r)
    (serial,) = backend().virtual_mfa_devices
    assert f"aws iam delete-virtual-mfa-device --serial-number {serial}" in msg
    assert state(tok) == before  # the token's account was removed again

    # Retrying once AWS works again is safe: the leftover goes, the new device is enabled.
    monkeypatch.setattr(IamResponse, "enable_mfa_device", checked_enable)
    monkeypatch.setattr(IamResponse, "delete_virtual_mfa_device", _delete)
    near_period_end(tok)
    r = otpfob("aws", "enable-mfa", "--user-name", "alice")
    assert f"Deleting {serial}" in r.stdout and "MFA serial number" in r.stdout
    assert_token_has(tok, f"alice@{ACCOUNT}", seed_of(serial))


@pytest.mark.parametrize(
    "args, env, words",
    [
        (["--user-name", "nobody"], {}, "NoSuchEntity"),
        (["--user-name", "bad name!"], {}, "may hold only"),
        (["--user-name", "alice", "--profile", "missing"], {}, "no AWS profile named"),
        (["--user-name", "alice"], {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}, "no AWS credentials"),
        (["--user-name", "a" * 30], {}, "longer than 32 bytes"),
    ],
)
def test_refusals_change_nothing(otpfob, tok, iam, monkeypatch, args, env, words):
    for name, value in env.items():
        monkeypatch.delenv(name) if value is None else monkeypatch.setenv(name, value)
    before = state(tok)
    r = otpfob("aws", "enable-mfa", *args, code=None)
    assert r.exit_code != 0 and words in error_of(r)
    assert state(tok) == before and backend().virtual_mfa_devices == {}


def test_resync_without_a_device(otpfob, tok, iam):
    r = otpfob("aws", "resync", "--user-name", "alice", code=None)
    assert r.exit_code != 0 and "no virtual MFA device" in error_of(r)


def test_enable_mfa_on_two_tokens_with_a_backup(otpfob, tok, make_token, iam, tmp_path):
    """Issue 24: both tokens get the one seed and check it, the codes come
    from the first, and the seed goes into the encrypted backup."""
    from pskc import PSKC

    second = make_token(rtc_set=True)
    near_period_end(tok)
    near_period_end(second)
    path = tmp_path / "aws.pskc"
    password = "backup password for aws"
    r = otpfob(
        "aws", "enable-mfa", "--user-name", "alice", "--to", tok.port, "--to", second.port,
        "--backup", str(path), "--backup-password-stdin", input=password + "\n",
    )  # fmt: skip
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/alice"
    seed = seed_of(serial)
    assert f"Loaded it into the token on {second.port} too and checked its code." in r.stdout
    assert f"on {tok.port} and {second.port}." in r.stdout
    for t in (tok, second):
        assert_token_has(t, f"alice@{ACCOUNT}", seed)
    ((action, _serial, c1, c2),) = SEEN
    assert action == "enable" and consecutive(seed, c1, c2)
    doc = PSKC(str(path))
    doc.encryption.derive_key(password)
    (key,) = doc.keys
    assert key.secret == base64.b32decode(seed) and key.key_userid == f"alice@{ACCOUNT}" and key.issuer == "AWS"
    no_seed_in(otpfob.text + path.read_text(), seed)
