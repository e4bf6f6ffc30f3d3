"""`otpfob aws enable-mfa|resync`: thin click code over `otpfob.aws`.

The seed AWS hands out goes from boto3's reply into the token and nowhere
else; nothing here prints it, and the error sentences never hold it.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from .. import aws
from ..names import quoted
from .context import current, token_options
from .targets import add_to_backup, backup_options, describe, open_backup, open_targets, several_tokens_options
from .util import Countdown, first_printer


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
@several_tokens_options
@backup_options
@token_options()
def enable_mfa(
    user_name: str,
    profile: str | None,
    device_name: str | None,
    label: str | None,
    issuer: str,
    to: tuple[str, ...],
    all_tokens: bool,
    backup_path: str | None,
    backup_password_stdin: bool,
) -> None:
    """Create a virtual MFA device for an IAM user, load it into the token and enable it.

    The seed AWS creates goes straight into the token: it is never shown
    or logged, and saved only encrypted, in the --backup file if one is
    given. The token's code is checked against pyotp, then two
    consecutive codes are read from the token (waiting for the next 30 s
    period, up to half a minute) and sent to EnableMFADevice. If a step
    fails, what was created is removed again, or the error says what is
    left and how to remove it; running the command again is safe.

    With --to PORT for each token (or --all-tokens) every token gets the
    same seed (one MFA device has one secret) and is checked; the two codes
    come from the first. With --backup FILE the seed is added to that
    encrypted backup before the device is enabled.

    \b
    Examples:
      otpfob aws enable-mfa --user-name alice
      otpfob aws enable-mfa --user-name alice --device-name alice-otpfob --profile admin
      otpfob aws enable-mfa --user-name alice --to /dev/ttyACM0 --to /dev/ttyACM1 --backup ~/otp-backup.pskc
    """
    iam = aws.client(profile)
    saved = open_backup(backup_path, backup_password_stdin)
    first, *copies = open_targets(to, all_tokens)
    countdown = Countdown()
    done = aws.enable_mfa(
        first.session,
        iam,
        user_name,
        device_name=device_name,
        label=label,
        issuer=issuer,
        progress=click.echo,
        on_first=first_printer(countdown, "First code"),
        on_wait=countdown,
        on_touch=_ask_press(countdown),
        copies=copies,
        # The seed is backed up before the device is enabled: if that fails, nothing is left enabled.
        on_loaded=None if saved is None else lambda acct: add_to_backup(saved, [acct]),
    )
    countdown.done()
    click.echo(f"Second code: {done.codes.second.code}")
    click.echo(
        f"Enabled MFA for {user_name!r} with the token's account {quoted(done.label)}"
        + (f" on {describe([first, *copies])}" if copies else "")
        + "."
    )
    click.echo(f"MFA serial number: {done.serial}")


def _ask_press(countdown: Countdown) -> Callable[[], None]:
    """Ask for a press before each code of a touch account (the token's
    touch_default may make the new account one)."""

    def ask() -> None:
        countdown.done()
        click.echo("Press the button on the token to release the code.", err=True)

    return ask


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
    countdown = Countdown()
    serial, codes = aws.resync(
        session,
        iam,
        user_name,
        serial=serial_number,
        label=label,
        on_first=first_printer(countdown, "First code"),
        on_wait=countdown,
        on_touch=_ask_press(countdown),
    )
    countdown.done()
    click.echo(f"Second code: {codes.second.code}")
    click.echo(f"Resynchronised {serial} for {user_name!r}.")
