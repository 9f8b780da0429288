"""Small repositories for the tests of `check`, the CLI and the record corpora, and the benchmarks as modules.

- `sample_repository`: a copy of tests/sample/ (one valid record and its regression) with the JSON Schema;
- `with_schema`: the JSON Schema where records point (`schema/incident.schema.json`), in any folder;
- `regression_for`: the regression file a one-file record case names, each listed case marked as listed;
- `load_bench`: a script of bench/ imported as a module, for the tests of the benchmarks.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

from incidentkb.records.json_schema import SCHEMA_FILE
from incidentkb.records.yamlload import YamlSyntaxError, load_yaml

__all__ = ["REPO", "SAMPLE", "sample_repository", "with_schema", "regression_for", "load_bench"]

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "sample"


def with_schema(root: Path) -> Path:
    """`root` with the JSON Schema the records' first line names; returns `root`."""
    (root / "schema").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / SCHEMA_FILE, root / SCHEMA_FILE)
    return root


def sample_repository(root: Path) -> Path:
    """A copy of the sample repository at `root` (which must not exist): all good for `incidentkb check`."""
    shutil.copytree(SAMPLE, root)
    return with_schema(root)


def regression_for(record: Path, root: Path) -> None:
    """The regression file a case names, every listed case marked as listed, when it lies inside regressions/.

    Nothing is written for a record that cannot be read, names no path inside regressions/, or whose file exists.
    """
    try:
        data = load_yaml(record.read_text(encoding="utf-8-sig")).value
    except (YamlSyntaxError, UnicodeDecodeError):
        return
    regression = data.get("regression") if isinstance(data, dict) else None
    cases = regression.get("cases") if isinstance(regression, dict) else None
    path = regression.get("path") if isinstance(regression, dict) else None
    if not isinstance(path, str) or not isinstance(data.get("id"), str):
        return
    target = Path(os.path.normpath(root / path))
    if not target.is_relative_to(root / "regressions") or target.exists():
        return
    lines = ["import pytest", ""]
    for case in cases if isinstance(cases, list) else ():
        if isinstance(case, dict) and isinstance(case.get("name"), str) and isinstance(case.get("role"), str):
            lines += ["", f"@pytest.mark.incident({data['id']!r}, {case['role']!r})", f"def {case['name']}(observe):",
                      "    pass", ""]
    target.write_text("\n".join(lines), encoding="utf-8")


def load_bench(name: str) -> ModuleType:
    """bench/<name>.py as the module `name` (registered, as dataclasses look their module up by name)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
