"""`otpfob aws enable-mfa|resync` and `otpfob code --two`: thin click code over
`aws.py` and `consecutive.py`.

The seed AWS hands out goes from boto3's reply into the token and nowhere
else; nothing here prints it, and the error sentences never hold it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from . import aws
from .cli_session import current, token_options
from .consecutive import two_codes
from .names import quoted
from .session import AccountInfo, Code, Session


class _Countdown:
    """Shows the wait for the next period on stderr: one line that counts down
    on a terminal, a single line otherwise."""

    def __init__(self) -> None:
        self.shown = False
        self.tty = sys.stderr.isatty()

    def __call__(self, seconds: int) -> None:
        if self.tty:
            click.echo(f"\rNext code in {seconds:2d} s ", nl=False, err=True)
        elif not self.shown:
            click.echo(f"Waiting {seconds} s for the token's next period...", err=True)
        self.shown = True

    def done(self) -> None:
        if self.tty and self.shown:
            click.echo("\r" + " " * 20 + "\r", nl=False, err=True)
        self.shown = False


def _first_printer(countdown: _Countdown, what: str = "Code 1") -> Callable[[Code], None]:
    calls: list[Code] = []

    def show(code: Code) -> None:
        countdown.done()
        if calls:
            click.echo("The wait ran past a whole period, so start again with this code.", err=True)
        calls.append(code)
        click.echo(f"{what}: {code.code}")

    return show


def echo_two_codes(session: Session, account: AccountInfo) -> None:
    """`otpfob code LABEL --two`: the current code, a countdown, then the next one."""
    countdown = _Countdown()
    codes = two_codes(
        session,
        account,
        on_first=_first_printer(countdown),
        on_wait=countdown,
        on_touch=lambda: click.echo("Press the button on the token to release the code.", err=True),
    )
    countdown.done()
    click.echo(f"Code 2: {codes.second.code}")


@click.group("aws")
def aws_group() -> None:
    """Set up AWS IAM virtual MFA with the token (needs `pip install 'otpfob[aws]'`).

    AWS credentials come from boto3's usual places: the environment,
    ~/.aws/config and ~/.aws/credentials, or --profile.

    \b
    Examples:
      otpfob aws enable-mfa --user-name alice
      otpfob aws resync --user-name alice --profile admin
    """


_profile = click.option("--profile", metavar="NAME", help="The AWS profile to use (default: boto3's own choice).")
_user = click.option("--user-name", "-U", required=True, metavar="NAME", help="The IAM user to set MFA up for.")


@aws_group.command("enable-mfa")
@_user
@_profile
@click.option("--device-name", metavar="NAME", help="The virtual MFA device's name in IAM (default: the user name).")
@click.option(
    "--label", "-l", help="The account's label on the token (default: DEVICE@ACCOUNT, as AWS's QR code names it)."
)
@click.option(
    "--issuer", "-i", default=aws.DEFAULT_ISSUER, show_default=True, help="The account's issuer on the token."
)
@token_options()
def enable_mfa(user_name: str, profile: str | None, device_name: str | None, label: str | None, issuer: str) -> None:
    """Create a virtual MFA device for an IAM user, load it into the token and enable it.

    The seed AWS creates goes straight into the token: it is never shown,
    saved or logged. The token's code is checked against pyotp, then two
    consecutive codes are read from the token (waiting for the next 30 s
    period, up to half a minute) and sent to EnableMFADevice. If a step
    fails, what was created is removed again, or the error says what is
    left and how to remove it; running the command again is safe.

    \b
    Examples:
      otpfob aws enable-mfa --user-name alice
      otpfob aws enable-mfa --user-name alice --device-name alice-otpfob --profile admin
    """
    iam = aws.client(profile)
    session = current().session()
    countdown = _Countdown()
    done = aws.enable_mfa(
        session,
        iam,
        user_name,
        device_name=device_name,
        label=label,
        issuer=issuer,
        progress=click.echo,
        on_first=_first_printer(countdown, "First code"),
        on_wait=countdown,
    )
    countdown.done()
    click.echo(f"Second code: {done.codes.second.code}")
    click.echo(f"Enabled MFA for {user_name!r} with the token's account {quoted(done.label)}.")
    click.echo(f"MFA serial number: {done.serial}")


@aws_group.command("resync")
@_user
@_profile
@click.option("--serial-number", metavar="ARN", help="The MFA device (default: the user's virtual MFA device).")
@click.option("--label", "-l", help="The token's account (default: DEVICE@ACCOUNT from the serial number).")
@token_options()
def resync(user_name: str, profile: str | None, serial_number: str | None, label: str | None) -> None:
    """Resynchronise an IAM user's virtual MFA device with two consecutive codes from the token.

    For AWS's "MFA device out of sync" error: the token's codes of this
    period and the next one (up to half a minute of waiting) are sent to
    ResyncMFADevice. Check the token's clock first with `otpfob time`.

    \b
    Examples:
      otpfob aws resync --user-name alice
      otpfob aws resync --user-name alice --serial-number arn:aws:iam::123456789012:mfa/alice
    """
    iam = aws.client(profile)
    session = current().session()
    countdown = _Countdown()
    serial, codes = aws.resync(
        session,
        iam,
        user_name,
        serial=serial_number,
        label=label,
        on_first=_first_printer(countdown, "First code"),
        on_wait=countdown,
    )
    countdown.done()
    click.echo(f"Second code: {codes.second.code}")
    click.echo(f"Resynchronised {serial} for {user_name!r}.")
