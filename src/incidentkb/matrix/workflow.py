"""The GitHub Actions workflow of the matrix, generated from regressions/matrix.toml: one job per cell.

`incidentkb workflow --write` writes `.github/workflows/regressions.yml` and `.github/actionlint.yaml` (the
custom runner labels, so actionlint knows them); tests/test_workflow.py checks both are what this module gives
and that the workflow passes actionlint and `zizmor --offline`. What the workflow does:

- one job per cell, running `nox -s "regressions(<cell>)"` with its results written to a folder of its own and
  uploaded as the artifact `results-<cell slug>`, whatever the cell's verdict (a broken fix fails the job, and
  its results are what tells why);
- CPU cells with a pinned torch run on GitHub's runners (`cpu_runner` in the `[github]` table); GPU cells, and
  cells of the host's own torch (`torch=installed`), on self-hosted runners chosen by labels (`gpu_runner`,
  `host_torch_runner`; `{gpus}` is the cell's GPU count), whose own python3 has the torch that matches their
  driver;
- uv's cache (~/.cache/uv) is kept per torch x stack pair, so a stack's wheels are downloaded once;
- a final job downloads every artifact, merges them into regressions/results (`incidentkb results merge`), prints
  the table and the change report (`nox -s table`, `nox -s changes`), builds the site and hands it to GitHub Pages,
  which the last job publishes (on the default branch only);
- triggers: pushes to the default branch (every cell), pull requests (the CPU cells of GitHub's runners only:
  code from a fork never reaches a self-hosted runner), a nightly schedule for the cells of the `latest` stack
  when the matrix has one, and manual runs (`cells`: the cells to run, empty for all; `strict`: drift fails).
Actions are pinned by commit (zizmor's `unpinned-uses`), the release each commit is named in a comment.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from incidentkb.matrix.axes import Cell, Matrix, MatrixError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["WORKFLOW_FILE", "ACTIONLINT_FILE", "GithubSettings", "load_settings", "render", "render_actionlint", "files", "runner_of", "ACTIONS"]

WORKFLOW_FILE = ".github/workflows/regressions.yml"
ACTIONLINT_FILE = ".github/actionlint.yaml"
#: The stack id the nightly schedule runs (issue 13's moving stack of the newest releases), when the matrix has it.
LATEST = "latest"

#: Every action the workflow uses, pinned to the commit of the release in the comment (commits as published
#: with those release tags; checked by nothing here, since the tests run offline: bump them with Dependabot or
#: `zizmor --fix` online). checkout, setup-python and the artifact actions are their Node 24 releases.
ACTIONS = {
    "checkout": "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8  # v5.0.0",
    "setup-python": "actions/setup-python@e797f83bcb11b83ae66e0230d6156d7c80228e7c  # v6.0.0",
    "cache": "actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830  # v4.3.0",
    "upload-artifact": "actions/upload-artifact@330a01c490aca151604b8cf639adc76d48f6c5d4  # v5.0.0",
    "download-artifact": "actions/download-artifact@018cc2cf5baa6db3ef3c5f8a56943fffe632ef53  # v6.0.0",
    "upload-pages-artifact": "actions/upload-pages-artifact@7b1f4a764d45c48632c6b24a0339c27f5614fb0b  # v4.0.0",
    "deploy-pages": "actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e  # v4.0.5",
}


@dataclass(frozen=True)
class GithubSettings:
    """The `[github]` table of the matrix file; each key has its `<key>_why` there."""

    cpu_runner: tuple[str, ...] = ("ubuntu-latest",)
    gpu_runner: tuple[str, ...] = ("self-hosted", "linux", "gpus-{gpus}")
    host_torch_runner: tuple[str, ...] = ("self-hosted", "linux", "host-torch")
    python: str = "3.11"
    nightly_cron: str = "17 3 * * *"


_KEYS = {"cpu_runner": list, "gpu_runner": list, "host_torch_runner": list, "python": str, "nightly_cron": str}


def load_settings(path: str | Path) -> GithubSettings:
    """The `[github]` table of the matrix file (missing: the defaults above)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("github", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MatrixError(f"{path}: {exc}") from None
    values: dict[str, object] = {}
    for key, value in data.items():
        if key.endswith("_why"):
            continue
        if key not in _KEYS:
            raise MatrixError(f"{path}: [github] has the unknown key {key!r}; use {sorted(_KEYS)}")
        if not isinstance(value, _KEYS[key]) or (isinstance(value, list) and not all(isinstance(v, str) and v for v in value)):
            raise MatrixError(f"{path}: [github] {key} = {value!r}: give {'a list of labels' if _KEYS[key] is list else 'a string'}")
        if not str(data.get(f"{key}_why", "")).strip():
            raise MatrixError(f"{path}: [github] {key} has no '{key}_why'; say why it is set")
        values[key] = tuple(value) if isinstance(value, list) else value
    return GithubSettings(**values)  # type: ignore[arg-type]


def runner_of(cell: Cell, matrix: Matrix, settings: GithubSettings) -> tuple[str, ...]:
    """The `runs-on` labels of a cell's job."""
    if cell.gpus:
        labels = settings.gpu_runner
    elif matrix.torch_option(cell).is_host:
        labels = settings.host_torch_runner
    else:
        return settings.cpu_runner
    return tuple(label.replace("{gpus}", str(cell.gpus)) for label in labels)


def self_hosted(cell: Cell, matrix: Matrix, settings: GithubSettings) -> bool:
    return runner_of(cell, matrix, settings) != settings.cpu_runner


def job_id(cell: Cell) -> str:
    """`cell_torch-2_6_0_stack-4_51_3_gpus-0`: a job id GitHub accepts (letters, digits, `-` and `_`)."""
    return "cell_" + re.sub(r"[^A-Za-z0-9_-]", "_", cell.slug)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _flow(labels: tuple[str, ...]) -> str:
    return labels[0] if len(labels) == 1 else "[" + ", ".join(labels) + "]"


def _condition(cell: Cell, matrix: Matrix, settings: GithubSettings) -> str:
    """When the cell's job runs, by event (see the module's docstring)."""
    parts = ["github.event_name == 'push'"]
    if not self_hosted(cell, matrix, settings):
        parts.append("github.event_name == 'pull_request'")
    if cell.stack == LATEST:
        parts.append("github.event_name == 'schedule'")
    parts.append(f"(github.event_name == 'workflow_dispatch' && (inputs.cells == '' || contains(inputs.cells, {_quoted(str(cell))})))")
    return "\n      || ".join(parts)


def _cell_job(cell: Cell, matrix: Matrix, settings: GithubSettings) -> str:
    option = matrix.torch_option(cell)
    hosted = not self_hosted(cell, matrix, settings)
    minutes = matrix.cell_timeout_s // 60 + 60  # the cell's own limit, and its environment built cold
    setup_python = f"""
      - uses: {ACTIONS['setup-python']}
        with:
          python-version: '{settings.python}'""" if hosted else ""
    # A self-hosted runner's python3 is the machine's own, with the torch that matches its driver: nox runs from a
    # venv made from it, and INCIDENTKB_HOST_PYTHON names it, so torch=installed means that torch.
    python = "python" if hosted else "python3"
    return f"""
  {job_id(cell)}:
    name: '{cell}'
    if: >-
      {_condition(cell, matrix, settings)}
    runs-on: {_flow(runner_of(cell, matrix, settings))}
    timeout-minutes: {minutes}
    permissions:
      contents: read
    env:
      CELL: '{cell}'
      INCIDENTKB_RESULTS: ${{{{ github.workspace }}}}/cell-results
      STRICT: ${{{{ inputs.strict || false }}}}
    steps:
      - uses: {ACTIONS['checkout']}
        with:
          persist-credentials: false{setup_python}
      - uses: {ACTIONS['cache']}
        with:
          path: ~/.cache/uv
          key: uv-${{{{ runner.os }}}}-${{{{ runner.arch }}}}-stack-{cell.stack}-torch-{option.id}-${{{{ hashFiles('regressions/matrix.toml', 'pyproject.toml') }}}}
          restore-keys: |
            uv-${{{{ runner.os }}}}-${{{{ runner.arch }}}}-stack-{cell.stack}-torch-{option.id}-
      - name: nox and the project
        run: |
          {python} -m venv .ci-venv
          .ci-venv/bin/python -m pip install --quiet nox uv -e .
      - name: the cell
        run: |
          args=()
          if [ "$STRICT" = true ]; then args+=(--strict); fi
          INCIDENTKB_HOST_PYTHON="$(command -v {python})" .ci-venv/bin/nox -s "regressions($CELL)" -- "${{args[@]}}"
      - uses: {ACTIONS['upload-artifact']}
        if: ${{{{ !cancelled() }}}}
        with:
          name: results-{cell.slug}
          path: cell-results/
          if-no-files-found: ignore
"""


def _report_job(cells: list[Cell]) -> str:
    needs = "".join(f"\n      - {job_id(cell)}" for cell in cells)
    return f"""
  report:
    name: merge, table, change report, site
    needs:{needs}
    if: ${{{{ !cancelled() }}}}
    runs-on: ubuntu-latest
    timeout-minutes: 30
    permissions:
      contents: read
    steps:
      - uses: {ACTIONS['checkout']}
        with:
          persist-credentials: false
      - uses: {ACTIONS['setup-python']}
        with:
          python-version: '3.11'
      - name: the project with its site tools
        run: python -m pip install --quiet nox -e '.[site]'
      - uses: {ACTIONS['download-artifact']}
        with:
          pattern: results-*
          path: artifacts
      - name: merge every cell's results into regressions/results
        run: incidentkb results merge artifacts --into regressions/results
      - name: the table
        run: nox -s table
      - name: the change report
        run: nox -s changes
      - name: the site
        run: nox -s docs
      - uses: {ACTIONS['upload-pages-artifact']}
        with:
          path: site/

  pages:
    name: publish the site
    needs: report
    if: github.event_name != 'pull_request' && github.ref == format('refs/heads/{{0}}', github.event.repository.default_branch)
    runs-on: ubuntu-latest
    timeout-minutes: 10
    permissions:
      pages: write
      id-token: write
    environment:
      name: github-pages
      url: ${{{{ steps.deploy.outputs.page_url }}}}
    steps:
      - id: deploy
        uses: {ACTIONS['deploy-pages']}
"""


def render(matrix: Matrix, matrix_path: str | Path) -> str:
    """The workflow's text for this matrix (and the `[github]` table of its file)."""
    settings = load_settings(matrix_path)
    cells = [cell for cell in matrix.cells() if not matrix.excluded(cell)]
    has_latest = any(stack.id == LATEST for stack in matrix.stacks)
    schedule = f"""
  schedule:
    # nightly: the cells of the `{LATEST}` stack (the newest releases), to see a regression the day it ships
    - cron: '{settings.nightly_cron}'""" if has_latest else ""
    head = f"""# Generated by `incidentkb workflow --write` from regressions/matrix.toml: edit that file (or
# src/incidentkb/matrix/workflow.py), not this one. tests/test_workflow.py checks the two agree.
name: regressions

on:
  push:
    branches: [main]
  pull_request:{schedule}
  workflow_dispatch:
    inputs:
      cells:
        description: "Cells to run, as `nox -l` names them (e.g. torch=2.6.0 stack=4.51.3 gpus=0), separated by commas; empty: every cell"
        type: string
        default: ''
      strict:
        description: Symptom and attempt drift fails the run too (--strict)
        type: boolean
        default: false

permissions: {{}}

concurrency:
  group: regressions-${{{{ github.ref }}}}
  cancel-in-progress: ${{{{ github.event_name == 'pull_request' }}}}

jobs:"""
    return head + "".join(_cell_job(cell, matrix, settings) for cell in cells) + _report_job(cells)


def render_actionlint(matrix: Matrix, matrix_path: str | Path) -> str:
    """actionlint's configuration: the self-hosted runner labels the workflow uses."""
    settings = load_settings(matrix_path)
    builtin = {"self-hosted", "linux", "x64", "arm64", "ubuntu-latest"}
    labels = sorted({label for cell in matrix.cells() if not matrix.excluded(cell)
                     for label in runner_of(cell, matrix, settings)} - builtin)
    lines = "".join(f"\n    - {label}" for label in labels)
    return f"""# Generated by `incidentkb workflow --write` from the [github] table of regressions/matrix.toml.
# The labels of the self-hosted runners the regressions workflow asks for, so actionlint knows them.
self-hosted-runner:
  labels:{lines}
"""


def files(matrix: Matrix, matrix_path: str | Path) -> dict[str, str]:
    """Every generated file, by its path relative to the repository."""
    return {WORKFLOW_FILE: render(matrix, matrix_path), ACTIONLINT_FILE: render_actionlint(matrix, matrix_path)}
