"""The arguments of a nox session (`nox -s NAME -- ...`): `--help` answered, a wrong one said in one line.

argparse prints its usage and exits on a wrong argument, which nox reports as a traceback of `SystemExit`; its
`--help` exits the same way. A `SessionParser` raises instead: `SessionArgsError` (one line: what is wrong, and
where to read the options) and `HelpRequested` (the help text), which the noxfile turns into
`Session NAME aborted: ...` and a printed help.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import IO, NoReturn

__all__ = ["SessionArgsError", "HelpRequested", "SessionParser", "run_script"]


class SessionArgsError(ValueError):
    """A session's argument is wrong; the message is one line that names it and says where the options are."""


class HelpRequested(Exception):  # noqa: N818 - not an error: the user asked for the help text
    """`--help` was given; `text` is the session's help."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class SessionParser(argparse.ArgumentParser):
    """An `ArgumentParser` for a session's arguments whose `prog` is `nox -s NAME --`."""

    def error(self, message: str) -> NoReturn:
        raise SessionArgsError(f"{message} (the options: {self.prog} --help)")

    def print_help(self, file: IO[str] | None = None) -> None:
        raise HelpRequested(self.format_help())

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if status == 0:
            raise HelpRequested(self.format_help())
        raise SessionArgsError(" ".join((message or "wrong arguments").split()))


_USAGE_ERROR = re.compile(r"^\S+: error: ")


def run_script(command: Sequence[str], *, help_with: str, env: Mapping[str, str] | None = None) -> None:
    """Run a script whose own argparse reads the session's arguments (bench/*.py), its progress on stderr shown
    as it comes; its usage error becomes one `SessionArgsError` line instead of a usage block and a failure.

    Lines from `usage:` on are held back until the next line says whether argparse is reporting an error.
    """
    import os

    process = subprocess.Popen(list(command), stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    assert process.stderr is not None
    held: list[str] = []
    for line in process.stderr:
        if line.startswith("usage:") or held and line.startswith(" "):
            held.append(line)
            continue
        if held and _USAGE_ERROR.match(line):
            process.wait()
            raise SessionArgsError(f"{line.strip()} (the options: {help_with})")
        sys.stderr.write("".join(held) + line)
        held = []
    sys.stderr.write("".join(held))
    if process.wait() != 0:
        raise SessionArgsError(f"{' '.join(command[1:2])} exited with status {process.returncode} (its output is above)")
