"""A project whose incident requires a package no stack installs, and that package's releases as local wheels.

For the tests of `regression.requires` end to end (`incidentkb.matrix.required`): the cell's environments are
really built (uv, from a folder of wheels: no network) and the case really imports the version installed.
- `wheel`: a pure-Python wheel, written by hand (a zip with METADATA, WHEEL and RECORD);
- `tinyaug_wheels`: tinyaug 1.0 (scale() drops the last value) and 2.0 (fixed);
- `required_project`: tests/requires_sample/ copied, with an in-tree build backend so the project installs
  with no build requirement from an index.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import zipfile
from pathlib import Path

__all__ = ["SAMPLE", "wheel", "tinyaug_wheels", "required_project"]

SAMPLE = Path(__file__).resolve().parent / "requires_sample"

TINYAUG = {
    "1.0": "VERSION = '1.0'\n\ndef scale(values, factor):\n    return [v * factor for v in values][:-1]\n",
    "2.0": "VERSION = '2.0'\n\ndef scale(values, factor):\n    return [v * factor for v in values]\n",
}

#: A PEP 517 backend with no requirements: the project's wheel and editable wheel are its metadata alone.
BACKEND = '''
import base64, hashlib, zipfile
from pathlib import Path

def _wheel(directory, editable=False):
    dist = "required_sample-0"
    path = Path(directory) / f"{dist}-py3-none-any.whl"
    files = {f"{dist}.dist-info/METADATA": "Metadata-Version: 2.1\\nName: required-sample\\nVersion: 0\\nProvides-Extra: regressions\\n",
             f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    record = []
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(text.encode())}")
        z.writestr(f"{dist}.dist-info/RECORD", "\\n".join(record + [f"{dist}.dist-info/RECORD,,"]) + "\\n")
    return path.name

def build_wheel(directory, config_settings=None, metadata_directory=None):
    return _wheel(directory)

def build_editable(directory, config_settings=None, metadata_directory=None):
    return _wheel(directory, editable=True)
'''


def wheel(dest: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel of `files` (archive path -> text), with the metadata pip and uv require."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = dest / f"{dist}-py3-none-any.whl"
    entries = {**files, f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
               f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    with zipfile.ZipFile(path, "w") as archive:
        for arcname, text in entries.items():
            data = text.encode()
            archive.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arcname},sha256={digest},{len(data)}")
        archive.writestr(f"{dist}.dist-info/RECORD", "\n".join(record + [f"{dist}.dist-info/RECORD,,"]) + "\n")
    return path


def tinyaug_wheels(dest: Path) -> Path:
    """A folder with tinyaug 1.0 and 2.0."""
    dest.mkdir(parents=True, exist_ok=True)
    for version, code in TINYAUG.items():
        wheel(dest, "tinyaug", version, {"tinyaug/__init__.py": code})
    return dest


def required_project(root: Path) -> Path:
    """tests/requires_sample/ at `root`, installable offline (an in-tree build backend)."""
    shutil.copytree(SAMPLE, root)
    (root / "backend.py").write_text(BACKEND, encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "required-sample"\nversion = "0"\n', encoding="utf-8")
    return root
