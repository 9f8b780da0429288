"""`incidentkb new`: a new record and its regression stub, ready to be filled in.

Both files are written from templates (`templates/new/`) full of ``TODO: ...`` placeholders, and `check` reports
every placeholder left, so a half-written incident cannot pass for a finished one. A symptom that raises an error
gets error text, signatures and a case that catches the error; a silent one (wrong output, memory growth, a weight
left random) gets `symptom.measured` and cases that compare a measurement with its threshold. Nothing is ever
overwritten: if either file exists, nothing is written at all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from incidentkb.records.json_schema import SCHEMA_COMMENT
from incidentkb.records.schema import ID_PATTERN

__all__ = ["ScaffoldError", "NewIncident", "slugify", "plan", "write"]


class ScaffoldError(Exception):
    """The new incident cannot be written (no usable id, or a file already exists)."""


@dataclass(frozen=True)
class NewIncident:
    """What `new` will write: the id, the record, and the regression file (relative to the root)."""

    id: str
    record: Path
    regression: Path
    record_text: str
    regression_text: str


def slugify(title: str) -> str:
    """The title as lowercase ASCII words joined by '-' (``"Tensor dtype mismatch!"`` -> ``tensor-dtype-mismatch``).

    Every word is kept: a cut id (`loss-is-nan-after-the-first`) reads as a different incident; `--id` chooses a
    shorter one.
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_title))


def _template(name: str) -> Template:
    return Template((resources.files("incidentkb") / "templates" / "new" / name).read_text(encoding="utf-8"))


def plan(title: str, *, date: dt.date, incident_id: str | None = None, silent: bool = False) -> NewIncident:
    """The files for a new incident, not yet written; raises `ScaffoldError` when no valid id can be made.

    `silent`: the symptom raises no error, so the record gets `symptom.measured` and the stub measures.
    """
    if not title.strip():
        raise ScaffoldError('the title is empty; give one, e.g. incidentkb new "Loss is NaN after the first step"')
    if incident_id is None:
        slug = slugify(title)
        if not slug:
            raise ScaffoldError(
                f"cannot make an id from the title {title!r} (it has no letters a-z or digits); "
                f"pass one with --id, e.g. --id {date.isoformat()}-short-name"
            )
        incident_id = f"{date.isoformat()}-{slug}"
    if not re.match(ID_PATTERN, incident_id):
        raise ScaffoldError(
            f"--id {incident_id!r} is not an id; use lowercase words and digits joined by '-', "
            f"e.g. {date.isoformat()}-short-name"
        )
    words = incident_id.split("-")
    # The date is in the id already; the file name keeps the words that say what happened.
    if len(words) > 3 and all(w.isdigit() for w in words[:3]):
        words = words[3:]
    regression = Path("regressions") / f"test_{'_'.join(words)}.py"
    kind = "silent" if silent else "raises"
    values = {
        "id": incident_id,
        # JSON strings are YAML double-quoted strings, so any title is written safely.
        "title": json.dumps(title.strip(), ensure_ascii=False),
        "docstring_title": title.strip().replace("\\", "\\\\").replace('"""', "'''"),
        "date": date.isoformat(),
        "regression_path": regression.as_posix(),
        "schema_comment": SCHEMA_COMMENT,
    }
    values["symptom"] = _template(f"symptom-{kind}.yaml.tmpl").substitute(values)
    return NewIncident(
        id=incident_id,
        record=Path("incidents") / f"{incident_id}.yaml",
        regression=regression,
        record_text=_template("incident.yaml.tmpl").substitute(values),
        regression_text=_template(f"regression-{kind}.py.tmpl").substitute(values),
    )


def _taken(relative: Path) -> ScaffoldError:
    return ScaffoldError(f"{relative.as_posix()} already exists and is left as it is; choose another title or pass --id")


def write(new: NewIncident, root: Path) -> None:
    """Create both files under `root`; raises `ScaffoldError`, having written nothing, if either cannot be written.

    Nothing in the way is ever replaced: an existing file, a symlink (even one that points nowhere), or a file
    where a folder must be. If the second file cannot be written, the first, made a moment before, is removed
    again, so no half-made incident is left.
    """
    for relative in (new.record, new.regression):
        target = root / relative
        if target.exists() or target.is_symlink():
            raise _taken(relative)
        for folder in reversed(relative.parents[:-1]):
            place = root / folder
            if (place.exists() or place.is_symlink()) and not place.is_dir():
                raise ScaffoldError(f"{folder.as_posix()} is not a folder (a file, or a link to none); "
                                    "move it away and run again")
    made: list[Path] = []
    try:
        for relative, text in ((new.record, new.record_text), (new.regression, new.regression_text)):
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            # Mode "x" refuses to replace a file that appeared since the check above.
            with target.open("x", encoding="utf-8") as handle:
                made.append(target)
                handle.write(text)
    except OSError as exc:
        for path in made:
            path.unlink()
        if isinstance(exc, FileExistsError):
            raise _taken(relative) from None
        raise ScaffoldError(f"cannot write {relative.as_posix()} ({exc.strerror or exc}); nothing was written") from None
