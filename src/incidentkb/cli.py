"""The `incidentkb` command line: check records, start a new one, write the JSON Schema, match an error.

Each command is one function decorated with `@command(...)`, which declares its arguments; its docstring is its
help (first line: the summary in `incidentkb -h`; the rest, with an example, in `incidentkb <command> -h`).
Library code raises domain exceptions; only this module turns them into one-line messages and exit codes:
0 all is well, 1 problems found, 2 the command could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from incidentkb import __version__

__all__ = ["main", "command", "arg", "COMMANDS"]

Handler = Callable[[argparse.Namespace], int]
#: Every command in the order `incidentkb -h` lists them, by name.
COMMANDS: dict[str, tuple[Handler, tuple[tuple[tuple[str, ...], dict[str, Any]], ...]]] = {}


class CommandError(Exception):
    """A command cannot run as asked; its message is printed as `incidentkb <command>: <message>`."""


def arg(*names: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """One argument of a command, as `argparse.ArgumentParser.add_argument` takes it."""
    return names, options


def command(*arguments: tuple[tuple[str, ...], dict[str, Any]]) -> Callable[[Handler], Handler]:
    """Register a function `<name>_command` as the command `<name>`, with these arguments."""

    def register(handler: Handler) -> Handler:
        COMMANDS[handler.__name__.removesuffix("_command")] = (handler, arguments)
        return handler

    return register


ROOT = arg("--root", type=Path, metavar="DIR",
           help="the repository (default: the nearest folder at or above the current one that holds incidents/ "
                "or pyproject.toml)")


def _root(args: argparse.Namespace) -> Path:
    from incidentkb.check.checker import CheckError, find_root

    if args.root is not None:
        given = Path(args.root)
        if not given.is_dir():
            raise CommandError(f"--root {given} is not a folder")
        return given.resolve()
    try:
        return find_root(Path.cwd())
    except CheckError as exc:
        raise CommandError(str(exc)) from None


def _shown(path: str | Path) -> str:
    """A path as the user should see it: relative to the current folder when inside it (editors make it a link)."""
    absolute = Path(path).parent.resolve() / Path(path).name  # a symlink is shown as itself, not as its target
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _line(text: str) -> str:
    """`text` as one line of visible characters.

    Messages quote what records hold; a newline there would split one problem over two lines, and a terminal
    escape sequence (ESC, BEL) would be obeyed by the terminal. Such characters are shown as Python escapes.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


@command(
    arg("paths", nargs="*", type=Path, metavar="PATH",
        help="record files, regression files or folders holding them (default: incidents/ and regressions/)"),
    ROOT,
)
def check_command(args: argparse.Namespace) -> int:
    """Check the records and their regressions; report every problem at once.

    Each record must load (safe YAML only) and match the schema; its id must equal its file name and be unique;
    its signature patterns must compile; no "TODO: ..." placeholder may be left. Record and regression cases
    must name each other: every case in regression.cases exists in the regression file and carries
    @pytest.mark.incident(<id>, <role>) with the same role, and every marked case under regressions/ names an
    incident that exists and lists it.

    Each problem is printed as one line, path:line:col: message, and a summary line ends the output.
    Exit status: 0 when all is well, 1 when there are problems.

    Example:
      incidentkb check
      incidentkb check incidents/2025-04-12-stylegan-label-dtype-mismatch.yaml
    """
    from incidentkb.check.checker import CheckError, check

    root = _root(args)
    try:
        report = check(root, args.paths or None)
    except CheckError as exc:
        raise CommandError(str(exc)) from None
    shown: dict[str, str] = {}  # a file with thousands of problems is resolved once, not once per problem
    for problem in report.problems:
        if problem.path not in shown:
            shown[problem.path] = _shown(problem.path)
        print(_line(f"{shown[problem.path]}:{problem.line}:{problem.col}: {problem.message}"))
    for note in report.notes:  # not problems: a fix the matrix cannot verify, said rather than passed over
        print(_line(f"{_shown(note.path)}:{note.line}:{note.col}: {note.message}"))
    print(report.summary())
    return 0 if report.ok else 1


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


@command(
    arg("title", help="the incident's title, in a few words"),
    arg("--id", dest="incident_id", metavar="ID",
        help="the id to use instead of one made from the date and the title (needed for titles without a-z letters)"),
    arg("--date", type=_date, default=None, metavar="YYYY-MM-DD", help="when it happened (default: today)"),
    arg("--raises", dest="silent", action="store_false", default=None,
        help="the symptom raises an error: the record gets error_text and signatures, the stub catches the error"),
    arg("--silent", dest="silent", action="store_true",
        help="the symptom raises nothing (wrong output, memory growth, a weight left random): the record gets "
             "symptom.measured, the stub measures and compares with its threshold"),
    ROOT,
)
def new_command(args: argparse.Namespace) -> int:
    """Start a new incident: a record in incidents/ and a regression stub in regressions/.

    Both files are full of "TODO: ..." placeholders that `incidentkb check` reports until they are replaced.
    Whether the symptom raises an error (--raises) or is silent (--silent) decides what the record and the
    stub hold; without either, a terminal is asked and anything else gets --raises. The whole title makes the id
    (--id for a shorter one). Existing files are never overwritten: if either file exists, nothing is written.
    docs/writing-regressions.md walks through each kind of case.

    Example:
      incidentkb new "Loss is NaN after the first step" --raises --date 2025-05-02
      incidentkb new "Images ignore the labels after loading a checkpoint" --silent
    """
    from incidentkb.scaffold import ScaffoldError, plan, write

    root = _root(args)
    silent = args.silent if args.silent is not None else _ask_silent()
    try:
        new = plan(args.title, date=args.date or dt.date.today(), incident_id=args.incident_id, silent=silent)
        write(new, root)
    except ScaffoldError as exc:
        raise CommandError(str(exc)) from None
    print(f"wrote {_shown(root / new.record)}")
    print(f"wrote {_shown(root / new.regression)}")
    print("next: replace every 'TODO: ...' in both (incidentkb check lists those left), then run "
          f"pytest {new.regression.as_posix()}")
    return 0


def _ask_silent() -> bool:
    """Ask a terminal whether the symptom raises an error; anything but a terminal gets the error form."""
    if not sys.stdin.isatty():
        return False
    while True:
        answer = input("Does the symptom raise an error (a traceback)? [y]es / [n]o, it is silent: ").strip().lower()
        if answer in ("y", "yes", ""):
            return False
        if answer in ("n", "no"):
            return True


@command(
    arg("--write", action="store_true", help="write schema/incident.schema.json in the repository"),
    arg("--check", action="store_true", help="exit 1 if schema/incident.schema.json is not what the model gives"),
    ROOT,
)
def schema_command(args: argparse.Namespace) -> int:
    """Print the JSON Schema of a record, generated from the model, or write it for editors.

    Records start with '# yaml-language-server: $schema=../schema/incident.schema.json', so editors with the
    YAML language server complete keys and flag mistakes. Run --write after changing the model; it replaces
    only a schema it wrote before, never another file in its place (exit status 2).

    Example:
      incidentkb schema --write
    """
    from incidentkb.records.json_schema import (
        SCHEMA_FILE,
        SchemaFileError,
        render_schema,
        schema_is_current,
        write_schema,
    )

    if args.write and args.check:
        raise CommandError("give --write or --check, not both")
    if not (args.write or args.check):
        sys.stdout.write(render_schema())
        return 0
    path = _root(args) / SCHEMA_FILE
    if args.check:
        if schema_is_current(path):
            print(f"{_shown(path)} is up to date")
            return 0
        print(f"{_shown(path)} is out of date; run: incidentkb schema --write")
        return 1
    try:
        written = write_schema(path)
    except SchemaFileError as exc:
        raise CommandError(f"{_shown(path)} {exc}") from None
    print(f"wrote {_shown(path)}" if written else f"{_shown(path)} is up to date")
    return 0


#: Word matches are weak evidence: the best few are shown, and how many more there are.
WORD_MATCHES_SHOWN = 10


@command(
    arg("file", nargs="?", type=Path, metavar="FILE", help="a file holding the error or traceback (default: standard input)"),
    arg("--text", metavar="TEXT",
        help="the symptom in words or a log excerpt, instead of FILE; ranked by error signature, then by words"),
    ROOT,
)
def match_command(args: argparse.Namespace) -> int:
    """Find the known incidents behind an error or a symptom: give a traceback or words, get incidents, best first.

    A traceback (a whole one, or only its last line) is read from FILE or standard input. What varies between
    occurrences (paths, line numbers, addresses, tensor sizes, memory amounts, device ids) is normalised away,
    then its exception type, message and frames (library module and function) are compared with every record's
    symptom.signatures, and with its symptom.related_errors (said to be a related error, not the symptom's own).
    Text without a traceback (a symptom in words, a log excerpt), given with --text or found in FILE or standard
    input, is also ranked by the words it shares with each record: title (the original-language one too), symptom,
    measured quantity, cause, tags, category and the signatures' notes. Each match says whether it matched an error
    signature or only words, why, the fix in one line, the record and its page on the site.
    Exit status: 0 when an incident matches, 1 when none does.

    Example:
      incidentkb match traceback.txt
      python train.py 2>&1 | incidentkb match
      incidentkb match --text "images ignore the labels after loading a checkpoint"
    """
    from incidentkb.match.matcher import Matcher, has_traceback

    root = _root(args)
    if args.text is not None and args.file is not None:
        raise CommandError("give FILE or --text, not both")
    try:
        if args.text is not None:
            text = args.text
        else:
            text = args.file.read_text(encoding="utf-8", errors="replace") if args.file else sys.stdin.read()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    if not text.strip():
        where = "--text" if args.text is not None else args.file or "standard input"
        raise CommandError(f"nothing to match: {where} is empty; give the error's traceback or the symptom in words")
    matcher = Matcher.from_directory(root / "incidents", relative_to=root)
    matches: list[Any] = list(matcher.match_text(text, project_roots=[str(root)]))
    more = 0
    if args.text is not None or not has_traceback(text):
        shown = {found.incident_id for found in matches}
        by_words = [found for found in matcher.match_words(text) if found.incident_id not in shown]
        more = max(0, len(by_words) - WORD_MATCHES_SHOWN)
        matches += by_words[:WORD_MATCHES_SHOWN]
    if not matches:
        print("no known incident matches this error" if has_traceback(text) else
              "no known incident matches this text", file=sys.stderr)
        return 1
    for rank, found in enumerate(matches, start=1):
        print(_line(f"{rank}. {found.title} [{found.incident_id}]"))
        print(_line(f"   matched: {found.kind}"))
        print(_line(f"   why: {found.why}"))
        print(_line(f"   fix: {found.fix}"))
        print(_line(f"   record: {_shown(root / found.known.path)}"))
        print(f"   page: {found.page} (on the site)")
    if more:
        print(f"({more} more incidents share fewer words with the text; the {WORD_MATCHES_SHOWN} best are shown)")
    return 0


@command(
    arg("action", choices=["merge"], help="merge: add the results files of other folders to this repository's"),
    arg("folders", nargs="+", type=Path, metavar="DIR", help="results folders from other hosts or jobs (searched recursively)"),
    arg("--into", type=Path, metavar="DIR", default=None,
        help="the folder to add them to (default: $INCIDENTKB_RESULTS or regressions/results of the repository)"),
    ROOT,
)
def results_command(args: argparse.Namespace) -> int:
    """Merge results folders from several hosts or jobs into one, never overwriting or duplicating a run.

    Every results file is one run of one cell and is copied byte for byte. A run already in the target (the
    same content under any name) is added once; a different run with a name already taken (the same cell and
    second on two hosts) is kept under a new name; a file that is not a whole results file is refused with one
    line naming it, the others are still added. Exit status: 0, or 1 when a file was refused.

    Example:
      incidentkb results merge artifacts/*/ --into regressions/results
    """
    from incidentkb.matrix import merge
    from incidentkb.results.files import results_dir

    into = args.into if args.into is not None else results_dir(_root(args))
    if into.exists() and not into.is_dir():
        raise CommandError(f"--into {_shown(into)} is not a folder")
    report = merge.merge(args.folders, into)
    for line in report.lines(_shown):
        print(_line(line))
    return 1 if report.refused else 0


@command(
    arg("--write", action="store_true", help="write .github/workflows/regressions.yml and .github/actionlint.yaml"),
    arg("--check", action="store_true", help="exit 1 if the committed workflow is not what regressions/matrix.toml gives"),
    ROOT,
)
def workflow_command(args: argparse.Namespace) -> int:
    """Print the GitHub Actions workflow of the matrix (one job per cell), or write or check the committed one.

    The workflow is generated from regressions/matrix.toml: CPU cells on GitHub's runners, GPU cells on
    self-hosted runners chosen by the labels of its [github] table, then one job that merges every cell's
    results, prints the table and the change report, and publishes the site to GitHub Pages. Run --write after
    changing the matrix; --check exits 1 when the committed files are out of date. --write replaces only files
    it wrote before (their first line says so), never another workflow in their place (exit status 2).

    Example:
      incidentkb workflow --write
    """
    from incidentkb.matrix.axes import MATRIX_FILE, MatrixError, load_matrix
    from incidentkb.matrix.workflow import GENERATED, WORKFLOW_FILE, files

    if args.write and args.check:
        raise CommandError("give --write or --check, not both")
    root = _root(args)
    try:
        wanted = files(load_matrix(root / MATRIX_FILE), root / MATRIX_FILE)
    except MatrixError as exc:
        raise CommandError(str(exc)) from None
    if not (args.write or args.check):
        sys.stdout.write(wanted[WORKFLOW_FILE])
        return 0
    stale = 0
    for relative, text in wanted.items():
        path = root / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            print(f"{_shown(path)} is up to date")
        elif args.check:
            print(f"{_shown(path)} is out of date; run: incidentkb workflow --write")
            stale += 1
        elif current is not None and not current.startswith(GENERATED):
            raise CommandError(f"{_shown(path)} was not written by `incidentkb workflow` and is left as it is; move it away first")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {_shown(path)}")
    return 1 if stale else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="incidentkb", description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"incidentkb {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (handler, arguments) in COMMANDS.items():
        doc = inspect.getdoc(handler) or ""
        sub = commands.add_parser(name, help=doc.split("\n")[0], description=doc,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        for names, options in arguments:
            sub.add_argument(*names, **options)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except CommandError as exc:
        print(_line(f"incidentkb {args.command}: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `incidentkb check | head` closed the pipe; nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
