"""Environment faults: a case that cannot import what it tests says so, instead of "the bug crashed".

A candidate's resolution can give a set that installs but does not import (datasets 2.14.4 with a pyarrow that
no longer has `PyExtensionType`, so trl 0.11.4 fails at `import`). That is news about the environment, not about
the incident: the case's outcome is *environment fault*, and its detail names the import that failed, where it
failed, and the installed versions of the packages involved, from which a run elsewhere can tell the pins that
would fix it (`candidate.closest`). The rules, on an exception's chain (the error, its cause, their causes):

- an `ImportError` (`ModuleNotFoundError` included) anywhere in it;
- a library's lazy-import wrapper (`RuntimeError: Failed to import trl.trainer.orpo_trainer because of ...`,
  as transformers and trl raise);
- any other error (an `AttributeError` on a module, say) whose traceback runs through a module's top-level code
  (a `<module>` frame): it was raised while that module was being imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ImportFault", "from_exception", "from_error", "from_collection", "PREFIX", "installed_of", "parse_installed"]

#: How an environment fault's detail begins, in results files and summaries.
PREFIX = "environment fault: "
_WRAPPED = re.compile(r"^Failed to import (\S+) because of the following error")
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_MODULE_NAMED = re.compile(r"module '([\w.]+)'")
_IMPORT_ERRORS = ("ImportError", "ModuleNotFoundError")


@dataclass(frozen=True)
class ImportFault:
    """What could not be imported, where it failed, and the error there."""

    requested: str
    """The module the case asked for (`trl.trainer.orpo_trainer`)."""
    failed_in: str | None
    """The module whose top-level code raised (`datasets.features.features`), when the traceback says."""
    error: str
    """The innermost error, `Type: message`."""

    def modules(self) -> list[str]:
        """The top-level modules involved: requested, failed in, and one the message names (`module 'pyarrow'`)."""
        named = [m.group(1) for m in (_MODULE_NAMED.search(self.error), _NO_MODULE.search(self.error)) if m]
        found = [self.requested, *([self.failed_in] if self.failed_in else []), *named]
        return list(dict.fromkeys(name.split(".")[0] for name in found))

    def sentence(self, installed: Mapping[str, str] | None = None) -> str:
        """The detail of the case: `environment fault: cannot import X: Y raised E (installed: a 1, b 2)`."""
        where = f"{self.failed_in} raised " if self.failed_in and self.failed_in != self.requested else ""
        versions = ", ".join(f"{name} {version}" for name, version in (installed or {}).items())
        return f"{PREFIX}cannot import {self.requested}: {where}{self.error}" + (f" (installed: {versions})" if versions else "")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _module_frames(exc: BaseException) -> list[str]:
    frames, tb = [], exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "<module>":
            frames.append(str(tb.tb_frame.f_globals.get("__name__", "?")))
        tb = tb.tb_next
    return frames


def from_exception(exc: BaseException) -> ImportFault | None:
    """The import fault an exception (with its causes) shows, or None when it is not one."""
    chain = list(_chain(exc))
    root = chain[-1]
    error = f"{type(root).__name__}: {str(root).strip().splitlines()[-1] if str(root).strip() else ''}".rstrip(": ")
    modules = [name for e in chain for name in _module_frames(e)]
    wrapped = next((m.group(1) for e in chain if (m := _WRAPPED.match(str(e)))), None)
    missing = next((e for e in chain if isinstance(e, ImportError)), None)
    if wrapped is None and missing is None and not modules:
        return None
    requested = wrapped or (modules[0] if modules else None) or getattr(missing, "name", None) or "a module"
    return ImportFault(requested, modules[-1] if modules else None, error)


def from_error(type_name: str, message: str, frames: Sequence[str]) -> ImportFault | None:
    """The import fault of an error a case caught and stored (`ErrorInfo`: its frames, no cause), or None."""
    modules = [frame.rsplit(":", 1)[0] for frame in frames if frame.endswith(":<module>")]
    last = message.strip().splitlines()[-1] if message.strip() else ""
    tail = type_name.rsplit(".", 1)[-1]
    if match := _WRAPPED.match(message):
        return ImportFault(match.group(1), None, last)
    if tail in _IMPORT_ERRORS or modules:
        requested = modules[0] if modules else (m.group(1) if (m := _NO_MODULE.search(message)) else "a module")
        return ImportFault(requested, modules[-1] if modules else None, f"{tail}: {last}")
    return None


def from_collection(output: str, path: str) -> ImportFault | None:
    """The import fault of the regression file `path` that pytest could not collect (from its `E   Type: message`
    lines), or None. Collecting a file is importing it, so an `AttributeError` there is an import fault too."""
    for line in reversed([line[1:].strip() for line in output.splitlines() if line.startswith("E ")]):
        type_name, _, message = line.partition(": ")
        tail = type_name.rsplit(".", 1)[-1]
        wrapped = _WRAPPED.match(message)
        if tail in (*_IMPORT_ERRORS, "AttributeError") or tail == "RuntimeError" and wrapped:
            missing = _NO_MODULE.search(message)
            requested = wrapped.group(1) if wrapped else missing.group(1) if missing else path
            return ImportFault(requested, None, f"{tail}: {message}")
    return None


def installed_of(modules: Sequence[str]) -> dict[str, str]:
    """The installed distributions that provide these top-level modules, with their versions (in this process)."""
    import importlib.metadata as metadata

    provided = metadata.packages_distributions()
    versions: dict[str, str] = {}
    for module in modules:
        for dist in provided.get(module, [module]):
            try:
                versions[dist.lower()] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    return versions


_INSTALLED = re.compile(r"\(installed: ([^)]*)\)\s*$")


def parse_installed(detail: str) -> dict[str, str]:
    """The `(installed: datasets 2.14.4, pyarrow 26.0.1)` part of a fault's detail, by name."""
    match = _INSTALLED.search(detail or "")
    if match is None:
        return {}
    pairs = (part.strip().rsplit(" ", 1) for part in match.group(1).split(","))
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}
