"""AWS IAM virtual MFA on the token, end to end (the optional ``otpfob[aws]`` extra).

`enable_mfa` does what the console's "Assign MFA device" page makes people
do by hand: CreateVirtualMFADevice with the Base32 bootstrap, the seed
straight into the token (never printed, logged or written anywhere; it
lives in this process only as long as the `Account` that carries it), two
consecutive codes read from the token, EnableMFADevice. `resync` sends two
consecutive codes to ResyncMFADevice, for the seed's "out of sync" case.

If a step fails after the device was created, what was made is removed
again; what could not be removed is named in the error with the command
that removes it. A run can be repeated: a virtual MFA device of the same
name that is not assigned to anyone is a leftover of an earlier failed run
(its seed was never kept anywhere, so it can never be used) and is deleted
before a new one is made.

AWS error messages are passed on by their error code and message; the seed
is never part of a request, only of CreateVirtualMFADevice's reply.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fob import proto

from .consecutive import TwoCodes, two_codes
from .errors import AwsError, InputError, OtpfobError, TokenError
from .fleet import Target
from .session import AccountInfo, Session, full_name
from .uri import TOTP, Account, check_label, decode_secret

DEFAULT_ISSUER = "AWS"
_NAME = re.compile(r"^[\w+=,.@-]{1,226}$")  # IAM's pattern for user and device names
_SERIAL = re.compile(r"^arn:[\w-]+:iam::(\d{12}):mfa/(?:.*/)?([\w+=,.@-]+)$")


def client(profile: str | None = None) -> Any:
    """An IAM client for ``profile`` (default: boto3's usual lookup, including
    AWS_ENDPOINT_URL_IAM, which the tests point at moto's server)."""
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        from .extras import install_command

        raise AwsError(f"The aws commands need boto3; add it with `{install_command('aws')}`.") from None
    # botocore logs whole response bodies at DEBUG, CreateVirtualMFADevice's
    # seed among them: keep its loggers above DEBUG whatever the root logger is set to.
    logging.getLogger("botocore").setLevel(max(logging.INFO, logging.getLogger("botocore").level))
    try:
        return boto3.Session(profile_name=profile).client("iam")
    except botocore.exceptions.ProfileNotFound:
        raise InputError(f"There is no AWS profile named {profile!r}; see `aws configure list-profiles`.") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(_describe(exc)) from None


def _describe(exc: BaseException) -> str:
    """What went wrong in an AWS call, as a clause (never any request data)."""
    import botocore.exceptions

    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "error"))
        msg = str(err.get("Message", "")).strip().rstrip(".")
        return f"AWS answered {code}" + (f": {msg}" if msg else "")
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials were found (set them up with `aws configure`, or give --profile)"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return "AWS could not be reached (check the network connection)"
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return f"the AWS call failed ({type(exc).__name__})"
    return type(exc).__name__


def _call(what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    import botocore.exceptions
    import botocore.parsers

    try:
        return fn(**kwargs)
    except botocore.parsers.ResponseParserError:
        raise AwsError(f"{what} failed: AWS sent an answer that could not be read.") from None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise AwsError(f"{what} failed: {_describe(exc)}.") from None


def check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise InputError(f"The {what} may hold only letters, digits and +=,.@_- (1 to 226 characters).")
    return name


def serial_parts(serial: str) -> tuple[str, str]:
    """(account id, device name) of a virtual MFA device's serial ARN."""
    m = _SERIAL.match(serial)
    if not m:
        raise AwsError("AWS gave an MFA serial number that is not a virtual MFA device's ARN.")
    return m.group(1), m.group(2)


def label_for(serial: str) -> str:
    """The token label of an AWS device, as its QR code names it: ``device@account``."""
    account, device = serial_parts(serial)
    return f"{device}@{account}"


def _seed_key(device: dict[str, Any]) -> bytes:
    """The key bytes of CreateVirtualMFADevice's Base32StringSeed (never shown)."""
    seed = device.get("Base32StringSeed")
    if isinstance(seed, str):
        seed = seed.encode()
    if not isinstance(seed, bytes) or not seed:
        raise AwsError("AWS created the device but sent no Base32 seed.")
    try:
        return decode_secret(seed.decode("ascii", "replace"))
    except InputError:
        raise AwsError("AWS sent a seed that is not Base32.") from None


@dataclass
class Enabled:
    serial: str
    label: str
    codes: TwoCodes


def _leftovers(iam: Any, device_name: str) -> list[str]:
    """Serials of unassigned virtual MFA devices named ``device_name`` (earlier failed runs)."""
    found = []
    kwargs: dict[str, Any] = {"AssignmentStatus": "Unassigned"}
    while True:
        page = _call("Listing the virtual MFA devices", iam.list_virtual_mfa_devices, **kwargs)
        for d in page.get("VirtualMFADevices", []):
            serial = str(d.get("SerialNumber", ""))
            m = _SERIAL.match(serial)
            if m and m.group(2) == device_name:
                found.append(serial)
        if not page.get("IsTruncated") or not page.get("Marker"):
            return found
        kwargs["Marker"] = page["Marker"]


def _user_devices(iam: Any, user_name: str) -> list[str]:
    page = _call(f"Looking up the IAM user {user_name!r}", iam.list_mfa_devices, UserName=user_name)
    return [str(d.get("SerialNumber", "")) for d in page.get("MFADevices", [])]


def enable_mfa(
    session: Session,
    iam: Any,
    user_name: str,
    *,
    device_name: str | None = None,
    label: str | None = None,
    issuer: str = DEFAULT_ISSUER,
    progress: Callable[[str], None] = lambda _s: None,
    on_first: Callable[[Any], None] | None = None,
    on_wait: Callable[[int], None] | None = None,
    copies: Sequence[Target] = (),
    on_loaded: Callable[[Account], None] | None = None,
    on_touch: Callable[[], None] | None = None,
) -> Enabled:
    """Create a virtual MFA device for ``user_name``, put it on the token, enable it.

    ``copies``: more tokens that get the same seed (one MFA device is one
    secret), each checked against pyotp; the two codes come from ``session``.
    ``on_loaded(account)`` runs once every token holds the account and
    before the device is enabled (to back the seed up); if it fails, all is
    undone as for any other failure. The account gets each token's
    `touch_default`; ``on_touch()`` is called before each code that then
    needs a press.
    """
    check_name(user_name, "user name")
    device_name = check_name(device_name or user_name, "device name")
    if label is not None:
        check_label(label)
    elif len(device_name.encode()) + 13 > proto.MAX_LABEL:  # "@" and a 12-digit account id
        raise InputError(
            f"The token label {device_name}@ACCOUNT would be longer than {proto.MAX_LABEL} bytes; give a shorter one"
            " with --label."
        )

    # Everything that can be checked before anything is created.
    info = session.handshake()
    if info.clock != proto.CLOCK_OK:
        raise AwsError(
            "The token's clock is not set or not trusted, so its codes would be refused; run `otpfob time --set` first."
        )
    on_token = {full_name(a.label, a.issuer) for a in session.list_accounts()}
    if len(on_token) >= info.capacity:
        raise AwsError(f"The token is full ({info.capacity} accounts); delete one first.")
    on_copies = [{full_name(a.label, a.issuer) for a in t.session.list_accounts()} for t in copies]
    for t, names in zip(copies, on_copies, strict=True):
        t_info = t.session.handshake()
        if t_info.clock != proto.CLOCK_OK:
            raise AwsError(
                f"The token on {t.port}'s clock is not set or not trusted, so its codes would be refused; run"
                f" `otpfob time --set --port {t.port}` first."
            )
        if len(names) >= t_info.capacity:
            raise AwsError(f"The token on {t.port} is full ({t_info.capacity} accounts); delete one first.")
    for serial in _user_devices(iam, user_name):
        m = _SERIAL.match(serial)
        if m and m.group(2) == device_name:
            raise AwsError(
                f"The IAM user {user_name!r} already has the MFA device {serial} enabled; to resynchronise it run"
                f" `otpfob aws resync --user-name {user_name}`."
            )
    for serial in _leftovers(iam, device_name):
        progress(f"Deleting {serial}: an unassigned device of the same name left by an earlier try.")
        _call("Deleting the leftover virtual MFA device", iam.delete_virtual_mfa_device, SerialNumber=serial)

    created = _call(
        "Creating the virtual MFA device",
        iam.create_virtual_mfa_device,
        VirtualMFADeviceName=device_name,
    )["VirtualMFADevice"]
    serial = str(created.get("SerialNumber", ""))
    added: Account | None = None  # the token's account once it is on it
    copied: list[Target] = []  # the other tokens that hold it
    try:
        account_id, _ = serial_parts(serial)
        acct = Account(label=label or f"{device_name}@{account_id}", key=_seed_key(created), issuer=issuer)
        created = {}  # drop the reply that holds the seed
        name = full_name(acct.label, acct.issuer)
        if name in on_token:
            raise AwsError(
                f"The token already has an account named {name!r}; give another with --label or delete it first."
            )
        for t, names in zip(copies, on_copies, strict=True):
            if name in names:
                raise AwsError(
                    f"The token on {t.port} already has an account named {name!r}; give another with --label or"
                    " delete it first."
                )
        progress(f"Created the virtual MFA device {serial}.")
        touch = session.add(acct)
        added = acct
        check = session.verify(replace(acct, touch=touch), on_touch=on_touch)
        if not check.matches:
            raise AwsError("The token's code does not match the seed AWS sent.")
        progress(f"Loaded it into the token as {name!r} and checked its code.")
        for t in copies:
            copy_touch = t.session.add(acct)
            copied.append(t)
            if not t.session.verify(replace(acct, touch=copy_touch), on_touch=on_touch).matches:
                raise AwsError(f"The token on {t.port}'s code does not match the seed AWS sent.")
            progress(f"Loaded it into the token on {t.port} too and checked its code.")
        if on_loaded is not None:
            on_loaded(acct)
        info_now = AccountInfo(acct.label, acct.issuer, TOTP, acct.algorithm, acct.digits, acct.period, touch)
        codes = two_codes(session, info_now, on_first=on_first, on_wait=on_wait, on_touch=on_touch)
        _call(
            "Enabling the MFA device",
            iam.enable_mfa_device,
            UserName=user_name,
            SerialNumber=serial,
            AuthenticationCode1=codes.first.code,
            AuthenticationCode2=codes.second.code,
        )
    except BaseException as exc:
        raise _undo(exc, session, iam, serial, added, copied) from None
    return Enabled(serial=serial, label=acct.label, codes=codes)


def _undo(
    exc: BaseException,
    session: Session,
    iam: Any,
    serial: str,
    added: Account | None,
    copied: Sequence[Target] = (),
) -> BaseException:
    """Remove what enable_mfa made; the error to raise, saying what is left."""
    if isinstance(exc, OtpfobError):
        why = exc.message.rstrip(".")
    elif isinstance(exc, KeyboardInterrupt):
        why = "Interrupted"
    else:
        why = f"Failed unexpectedly ({type(exc).__name__})"
    left = []
    if added is not None:
        name = full_name(added.label, added.issuer)
        try:
            session.delete(added.label, added.issuer)
        except Exception:
            left.append(f"the token holds {name!r} (delete it with `otpfob delete {shlex.quote(name)}`)")
        for t in copied:
            try:
                t.session.delete(added.label, added.issuer)
            except Exception:
                left.append(
                    f"the token on {t.port} holds {name!r} (delete it with"
                    f" `otpfob delete {shlex.quote(name)} --port {shlex.quote(t.port)}`)"
                )
    try:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    except Exception:
        left.append(
            f"the virtual MFA device {serial} exists in AWS, not enabled (delete it with"
            f" `aws iam delete-virtual-mfa-device --serial-number {serial}`, or run this command again)"
        )
    if left:
        return AwsError(f"{why}; " + " and ".join(left) + ".")
    return AwsError(
        f"{why}; the new virtual MFA device and the token's account were removed again, so running this again is safe."
    )


def resync(
    session: Session,
    iam: Any,
    user_name: str,
    *,
    serial: str | None = None,
    label: str | None = None,
    issuer: str | None = None,
    on_first: Callable[[Any], None] | None = None,
    on_wait: Callable[[int], None] | None = None,
    on_touch: Callable[[], None] | None = None,
) -> tuple[str, TwoCodes]:
    """ResyncMFADevice with two consecutive codes from the token; (serial, codes).

    The token's account is the one labelled ``label`` (default: DEVICE@ACCOUNT
    from the serial), with ``issuer`` if given; when two issuers hold that
    label, ``issuer`` must say which."""
    check_name(user_name, "user name")
    on_token = session.list_accounts()
    accounts = {a.label: a for a in on_token}
    if serial is not None and not _SERIAL.match(serial):
        raise InputError(
            "--serial-number must be a virtual MFA device's ARN, like arn:aws:iam::123456789012:mfa/alice."
        )
    if serial is None:
        virtual = [s for s in _user_devices(iam, user_name) if _SERIAL.match(s)]
        if not virtual:
            raise AwsError(f"The IAM user {user_name!r} has no virtual MFA device to resynchronise.")
        # The device whose DEVICE@ACCOUNT is the token's account (--label, or any on the token).
        wanted = {label} if label is not None else set(accounts)
        matching = [s for s in virtual if label_for(s) in wanted]
        if len(matching) == 1 or len(virtual) == 1:
            serial = (matching or virtual)[0]
        else:
            raise InputError(
                f"The IAM user {user_name!r} has {len(virtual)} virtual MFA devices; name one with --serial-number."
            )
    label = label or label_for(serial)
    found = [a for a in on_token if a.label == label and issuer in (None, a.issuer)]
    if not found:
        raise TokenError(
            proto.E_NOT_FOUND,
            f"There is no account named {full_name(label, issuer or '')!r} on the token; name the token's"
            " account with --label (and --issuer).",
        )
    if len(found) > 1:
        names = ", ".join(repr(full_name(a.label, a.issuer)) for a in found)
        raise InputError(f"Several accounts on the token are labelled {label!r} ({names}); name one with --issuer.")
    codes = two_codes(session, found[0], on_first=on_first, on_wait=on_wait, on_touch=on_touch)
    _call(
        "Resynchronising the MFA device",
        iam.resync_mfa_device,
        UserName=user_name,
        SerialNumber=serial,
        AuthenticationCode1=codes.first.code,
        AuthenticationCode2=codes.second.code,
    )
    return serial, codes
