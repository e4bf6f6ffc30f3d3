"""No example puts a secret on the command line (issue 22), where shell
history and `ps` keep it: in README.md, docs/ and every command's --help,
`--secret`, `--uri` and `--password` take `-` (stdin), a prompt or a file."""

from __future__ import annotations

import re

import click

from otpfob import paths
from otpfob.cli import main

# An option given a value on the command line: --secret X / --secret=X, where X is not "-".
ON_THE_LINE = re.compile(r"(?:^|\s)--(secret|uri|password)(?:[ =])(?!-(?:\s|$))(\S+)")


def help_texts() -> dict[str, str]:
    out = {}

    def walk(cmd: click.Command, name: str) -> None:
        out[name] = cmd.help or ""
        if isinstance(cmd, click.Group):
            for sub, c in cmd.commands.items():
                walk(c, f"{name} {sub}")

    walk(main, "otpfob")
    return out


def example_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "otpfob " in line and not line.lstrip().startswith("|")]


def test_the_check_finds_a_secret_on_the_line():
    for bad in (
        "otpfob provision --secret JBSWY3DP",
        "otpfob provision --uri 'otpauth://x?secret=A'",
        "otpfob --password hunter2 list",
        "otpfob verify --secret=JBSW",
    ):
        assert ON_THE_LINE.search(bad), bad
    for good in ("otpfob provision --secret -", "otpfob provision --uri - < uri.txt", "otpfob --password-stdin list"):
        assert not ON_THE_LINE.search(good), good


def test_no_help_example_puts_a_secret_on_the_command_line():
    found = [
        (name, line) for name, text in help_texts().items() for line in example_lines(text) if ON_THE_LINE.search(line)
    ]
    assert found == []
    assert len(help_texts()) > 10


def test_no_documented_example_puts_a_secret_on_the_command_line():
    files = [paths.REPO / "README.md", *sorted((paths.REPO / "docs").glob("*.md"))]
    found = [(f.name, line) for f in files for line in example_lines(f.read_text()) if ON_THE_LINE.search(line)]
    assert found == []
