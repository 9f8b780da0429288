"""Every nox session, as a user starts it: `-- --help` prints its own options, a wrong argument is one line.

nox reports a session's `session.error` as `Session NAME aborted: ...`; anything else a session raises (argparse's
`SystemExit`, a library's exception) becomes a traceback. Each session is run for real through nox, with an
argument it does not take, and its whole output is checked for that one line and for the absence of a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from repo_samples import REPO

#: One cell stands for the parametrized `regressions` (every cell parses the same arguments).
CELL = "regressions(torch=2.13.0 stack=4.51.3 gpus=0)"
#: An argument each session refuses. `regressions` passes unknown arguments to pytest, so it gets a wrong value
#: of one of its own options; `bisect` needs its target first.
BAD = {CELL: ["--executor", "nowhere"], "bisect": ["x::y", "--package", "trl", "--runs", "many"]}


def nox(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": "", "INCIDENTKB_RESULTS": os.devnull + "-none"}
    return subprocess.run([sys.executable, "-m", "nox", "-f", str(REPO / "noxfile.py"), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def sessions() -> list[str]:
    """Every session `nox -l` lists (`* ` selected by default, `- ` on request), `regressions` by one cell."""
    listed = [line[2:].split(" -> ")[0] for line in nox("-l").stdout.splitlines() if line[:2] in ("* ", "- ")]
    assert CELL in listed
    return sorted({name for name in listed if not name.startswith("regressions(")}) + [CELL]


SESSIONS = sessions()


def test_every_session_is_covered() -> None:
    assert set(SESSIONS) >= {"wheelhouse", "candidate", "latest", "docs", "serve", "table", "changes", "bisect", "bench", CELL}


@pytest.mark.parametrize("session", SESSIONS)
def test_a_wrong_argument_is_one_line_without_a_traceback(session: str) -> None:
    done = nox("-s", session, "--", *BAD.get(session, ["--no-such-option"]))
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output and "raised exception" not in output, output
    [line] = [line for line in output.splitlines() if "aborted:" in line]
    assert line.startswith(f"nox > Session {session} aborted: ") and "--help" in line, output
    assert ("nowhere" if session == CELL else "many" if session == "bisect" else "--no-such-option") in line
    assert not [line for line in output.splitlines() if line.startswith("usage:")], output


@pytest.mark.parametrize("session", SESSIONS)
def test_help_prints_the_sessions_own_options(session: str) -> None:
    done = nox("-s", session, "--", "--help")
    assert done.returncode == 0, done.stdout + done.stderr
    name = session.split("(")[0]
    program = "bench/scale.py" if name == "bench" else f"nox -s {name} --"
    assert "usage: " in done.stdout and program.split("/")[-1] in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_pytest_refusing_the_arguments_passed_through_is_one_line_and_no_result() -> None:
    from incidentkb.matrix.pytest_process import PytestRun, usage_error

    tail = "ERROR: usage: __main__.py [options] [file_or_dir] [file_or_dir] [...]\n__main__.py: error: unrecognized arguments: --nope\n  inifile: None"
    refused = usage_error(PytestRun(("python", "-m", "pytest"), 4, 1.0, tail), None)
    assert str(refused) == "pytest: unrecognized arguments: --nope (arguments after `--` go to pytest; nox -s regressions -- --help)"
    assert usage_error(PytestRun(("python",), 4, 1.0, tail), {"cases": []}) is None  # it ran: a report exists
    assert usage_error(PytestRun(("python",), 1, 1.0, tail), None) is None
