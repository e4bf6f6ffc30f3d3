"""The `otpfob` command line: a thin click layer over the session.

This package root holds the root group, the error-to-exit mapping and the
logging set-up, and registers the commands, one module per command group
(`provision`, `accounts`, `token`, `config`, `deploy`, `access`, `import_`, `aws`, and
`sim` from the emulator). Command modules never import this one; what they
share is in `util` and `context`. A new command is a new module here,
registered below with `main.add_command`.

Every failure is an `OtpfobError` whose message is one sentence; the group's
`main()` prints it to stderr and exits with the error's code (`errors.EXIT_*`,
listed in docs/cli.md), never with a traceback. Library errors (`DeployError`,
`AwsError`, ...) are `OtpfobError`s too; only this module turns them into exit
codes. `--json` output has the stable keys documented in docs/cli.md and never
a secret.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import EXIT_OK, OtpfobError
from .access import access_group
from .accounts import code, delete, list_, move, pin, rename
from .aws import aws_group
from .config import config_group
from .context import CliState, password_option, password_source, password_stdin_option
from .deploy import deploy
from .import_ import import_command
from .provision import provision, verify
from .token import info, time_, wipe

LOG_LEVELS = ["debug", "info", "warning", "error"]


class _Group(click.Group):
    """A click group whose main() turns every failure into one sentence and its exit code."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name or "otpfob", complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:  # usage errors: shown the way click shows them (exit 2)
            exc.show()
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt, EOFError):
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except OtpfobError as exc:
            click.echo(exc.message, err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:  # a bug: still one sentence; the message is not shown as it might hold input
            if os.environ.get("OTPFOB_DEBUG"):
                raise
            click.echo(
                f"otpfob failed unexpectedly ({type(exc).__name__}); run again with OTPFOB_DEBUG=1 for details and report it.",
                err=True,
            )
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def setup_logging(level: str | None) -> None:
    """Send the otpfob loggers to stderr: at ``level``, else debug with
    OTPFOB_DEBUG set, else warnings only."""
    if level is None:
        level = "debug" if os.environ.get("OTPFOB_DEBUG") else "warning"
    logger = logging.getLogger("otpfob")
    logger.setLevel(level.upper())
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("otpfob: %(levelname)s: %(name)s: %(message)s"))
        logger.addHandler(handler)


class _StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is when a record comes (click's test runner swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--port",
    "-p",
    envvar="OTPFOB_PORT",
    metavar="PORT",
    help="Serial port of the token (default: $OTPFOB_PORT, else the one found on USB or a running `otpfob sim`).",
)
@password_option
@password_stdin_option
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default=None,
    help="Log the host library's work to stderr: debug shows one line per request, never a secret"
    " (default: warning; OTPFOB_DEBUG=1 means debug).",
)
@click.version_option(__version__, prog_name="otpfob")
@click.pass_context
def main(
    ctx: click.Context, port: str | None, password: str | None, password_stdin: bool, log_level: str | None
) -> None:
    """Provision and manage an otpfob TOTP/HOTP hardware token.

    Options such as --port and --password work before or after the command.
    Exit codes: 0 done, 1 refused or failed, 2 usage, 3 done but the token's
    clock would make services refuse its codes, 4 no token found.

    \b
    Examples:
      otpfob code
      otpfob code aws
      otpfob provision --uri -      # paste the otpauth:// URI; never put a secret on the command line
      otpfob list --port /dev/ttyACM0
      otpfob time --set
      pass show otpfob | otpfob code --password-stdin aws
    """
    setup_logging(log_level)
    state = CliState(port, password, password_from=password_source(ctx))
    ctx.obj = state
    ctx.call_on_close(state.close)
    if password_stdin:
        state.password_from_stdin()


for command in (provision, list_, code, delete, rename, move, pin, time_, verify, info, wipe, deploy):
    main.add_command(command)
# ykman's names, for hands used to `ykman oath accounts add|delete`.
main.add_command(provision, "add")
main.add_command(delete, "remove")
main.add_command(access_group)
main.add_command(config_group)
main.add_command(import_command)
main.add_command(aws_group)

try:  # the emulated token's command lives with the emulator
    from otpfob.emu.cli import sim_command

    main.add_command(sim_command, "sim")
except Exception:  # an emulator that is missing or broken must not break the rest of the CLI
    if os.environ.get("OTPFOB_DEBUG"):
        raise
