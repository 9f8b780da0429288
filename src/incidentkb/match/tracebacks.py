"""Reading a pasted Python traceback back into errors that signatures can be matched against.

People paste what they have: a whole traceback, the last two lines, a chained traceback, a Jupyter cell's output,
a torchrun log where every line starts with `[rank0]:`, pytest's `E   ` lines, Windows or POSIX paths. Each
error found becomes an `ErrorInfo` whose frames are `module:function`, the form a regression records with
`ErrorInfo.from_exception`, so a pasted error and an observed one are compared the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from incidentkb.match.signatures import ErrorInfo

__all__ = ["Frame", "ParsedError", "ParsedTraceback", "module_for_path", "parse_traceback"]

_PREFIX = re.compile(r"^(?:\[(?:rank|default)\d+\]:\s?|E {2,}|E$)")
_HEADER = re.compile(r"Traceback \(most recent call last\):?\s*$")
_ORIGINAL = re.compile(r"^\s*Original Traceback \(most recent call last\):\s*$")
_SEPARATORS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
_FRAME_FORMS = (
    # CPython: File "path", line 490, in compute_loss
    re.compile(r'^(?P<indent>\s*)File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>\S+))?\s*$'),
    # IPython 8: File ~/venv/.../module.py:1501, in Module._call_impl(self, *args, **kwargs)
    re.compile(r"^(?P<indent>\s*)File (?P<path>\S[^,]*?):(?P<line>\d+), in (?P<func>[\w.<>]+)(?:\(.*)?\s*$"),
    # IPython 7: ~/venv/.../module.py in __call__(self, *input, **kwargs)
    re.compile(r"^(?P<indent>)(?P<path>\S+\.py|<ipython-input-[^>]+>) in (?P<func>[\w.<>]+)(?:\(.*)?\s*$"),
    # pytest --tb=short: path/to/test_x.py:12: in test_x
    re.compile(r"^(?P<indent>\s*)(?P<path>\S+\.py):(?P<line>\d+): in (?P<func>\S+)\s*$"),
)
_EXCEPTION = re.compile(r"^(?P<indent>\s*)(?P<type>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?::(?: (?P<message>.*))?)?\s*$")
_EXCEPTION_WORDS = re.compile(r"(?:Error|Exception|Interrupt|Exit|StopIteration|Failure)$")
_STDLIB = re.compile(r"/(?:lib/python\d+(?:\.\d+)?|Lib)/")


@dataclass(frozen=True)
class Frame:
    """One frame of a traceback, with the module its file is, as Python would name it."""

    path: str
    line: int | None
    function: str
    module: str

    @property
    def key(self) -> str:
        """`module:function`, the form signatures name frames in."""
        return f"{self.module}:{self.function}"


@dataclass(frozen=True)
class ParsedError:
    """One exception of a traceback: its type as printed, its whole message, its frames outermost first."""

    type: str
    message: str
    frames: tuple[Frame, ...] = ()

    def info(self) -> ErrorInfo:
        return ErrorInfo(type=self.type, message=self.message, frames=tuple(f.key for f in self.frames))


@dataclass(frozen=True)
class ParsedTraceback:
    """Every exception found, in the order printed: causes and contexts first, the error that ended it last."""

    errors: tuple[ParsedError, ...] = field(default_factory=tuple)

    @property
    def final(self) -> ParsedError | None:
        return self.errors[-1] if self.errors else None


def module_for_path(path: str, project_roots: Sequence[str] = ()) -> str:
    """The dotted module name of a source file, from the part of its path that Python imports it by.

    >>> module_for_path(r"C:\\venv\\lib\\site-packages\\trl\\trainer\\sft_trainer.py")
    'trl.trainer.sft_trainer'
    >>> module_for_path("/src/app/train.py", project_roots=["/src"])
    'app.train'
    """
    if path.startswith("<"):
        return path
    posix = path.replace("\\", "/")
    relative = None
    for marker in ("/site-packages/", "/dist-packages/"):
        at = posix.rfind(marker)
        if at >= 0:
            relative = posix[at + len(marker) :]
            break
    if relative is None:
        for root in project_roots:
            root = root.replace("\\", "/").rstrip("/") + "/"
            if posix.startswith(root):
                relative = posix[len(root) :]
                break
    if relative is None:
        stdlib = _STDLIB.search(posix)
        relative = posix[stdlib.end() :] if stdlib else re.sub(r"^(?:[A-Za-z]:)?/*|^~/", "", posix)
    parts = [p for p in re.sub(r"\.(?:py|pyc|pyx|pyi)$", "", relative).split("/") if p and p != "."]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or path


def _frame(line: str, project_roots: Sequence[str]) -> tuple[int, Frame] | None:
    for form in _FRAME_FORMS:
        found = form.match(line)
        if found:
            path = found["path"].strip()
            function = (found["func"] or "<module>").split("(")[0]
            if "." in function and not function.startswith("<"):
                function = function.rsplit(".", 1)[-1]  # IPython prints Class.method; frames name the function
            number = found.groupdict().get("line")
            frame = Frame(path, int(number) if number else None, function, module_for_path(path, project_roots))
            return len(found["indent"]), frame
    return None


def _exception(line: str, *, strict: bool) -> tuple[int, str, str] | None:
    """The (indent, type, first message line) of an `ExcType: message` line.

    Strict outside a traceback, where a log line such as `Note: ...` must not pass for an error: there the type
    must look like an exception class name.
    """
    found = _EXCEPTION.match(line)
    if not found:
        return None
    kind = found["type"]
    tail = kind.rsplit(".", 1)[-1]
    if not (tail[:1].isupper() or tail.startswith("_")):
        return None
    if strict and not _EXCEPTION_WORDS.search(tail):
        return None
    if found["message"] is None and ":" not in line and not _EXCEPTION_WORDS.search(tail):
        return None  # a bare word like `Done` is not an exception line
    return len(found["indent"]), kind, found["message"] or ""


class _Reader:
    """The state of one pass over the lines: the frames of the traceback being read and the message being read."""

    def __init__(self, project_roots: Sequence[str]) -> None:
        self.roots = project_roots
        self.errors: list[ParsedError] = []
        self.frames: list[Frame] = []
        self.frame_indent = 0
        self.in_traceback = False
        self.kind: str | None = None
        self.message: list[str] = []
        self.nested = False

    def finish(self) -> None:
        if self.kind is None:
            return
        text = "\n".join(self.message).rstrip()
        outer, nested = text, ""
        for at, line in enumerate(self.message):
            if _ORIGINAL.match(line):
                outer, nested = "\n".join(self.message[:at]).rstrip(), "\n".join(self.message[at + 1 :])
                break
        if nested:
            # A DataLoader worker or DataParallel replica re-raises with the original traceback in its message.
            self.errors.extend(parse_traceback(nested, self.roots).errors)
        self.errors.append(ParsedError(self.kind, outer, tuple(self.frames)))
        self.kind, self.message, self.nested = None, [], False
        self.frames, self.in_traceback = [], False

    def feed(self, line: str) -> None:
        stripped = line.strip()
        if self.kind is not None and (self.nested or _ORIGINAL.match(line)):
            self._feed_message(line, stripped)
            return
        if _HEADER.search(line):
            self.finish()
            self.frames, self.in_traceback = [], True
            return
        if stripped in _SEPARATORS:
            self.finish()
            return
        if self.kind is not None:
            self._feed_message(line, stripped)
            return
        frame = _frame(line, self.roots)
        if frame is not None:
            self.frame_indent, parsed = frame
            self.frames.append(parsed)
            self.in_traceback = True
            return
        if not stripped:
            return
        in_frames = self.in_traceback
        if in_frames and self.frames and len(line) - len(line.lstrip()) > self.frame_indent:
            return  # a source line or the carets under it
        found = _exception(line, strict=not in_frames)
        if found is not None:
            _, self.kind, first = found
            self.message = [first]

    def _feed_message(self, line: str, stripped: str) -> None:
        if _ORIGINAL.match(line):
            self.nested = True
            self.message.append(stripped)
            return
        if not stripped:
            self.finish()
            return
        if not self.nested and _frame(line, self.roots) is not None:
            self.finish()
            self.feed(line)
            return
        self.message.append(line if self.nested else stripped)


def parse_traceback(text: str, project_roots: Iterable[str] = ()) -> ParsedTraceback:
    """Every exception in the pasted text, causes first.

    When nothing looks like an exception line, the whole text is taken as one message of unknown type (`""`),
    so a message pasted without its `ExcType:` can still be matched on its wording.
    """
    reader = _Reader(tuple(project_roots))
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        reader.feed(_PREFIX.sub("", raw.rstrip()))
    reader.finish()
    if not reader.errors and text.strip():
        return ParsedTraceback((ParsedError("", text.strip(), tuple(reader.frames)),))
    return ParsedTraceback(tuple(reader.errors))
