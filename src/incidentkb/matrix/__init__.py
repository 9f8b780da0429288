"""The regression matrix: axes, planning, environments, running a cell, results files, the table, wheelhouses.

- `axes`: `regressions/matrix.toml` read into torch options, stacks, GPU settings and cells;
- `planning`: which incidents each cell runs (and which earlier cell's run stands for the rest);
- `fingerprint`, `locks`, `reuse`: what decides an incident's outcome in a cell (its regression, incidentkb's
  code, the cell's lock, the torch build, the host's class), the lock computed without installing, and which
  committed run stands for an incident instead of running it;
- `hosts`: what a host gives cells (GPUs, its own torch, a wheelhouse) and why a cell cannot run there;
- `envs`: a cell's Python environment: what goes in, the commands that build it, when to reuse it;
- `pytest_process`: the cell's pytest in a subprocess under a time limit;
- `selection`: which cases a `-k` passed through to pytest leaves, as far as the plan can tell without importing
  them (a cell whose every case it deselects builds no environment);
- `cell_run`: one cell from its environment to its results file (what a `regressions(...)` session does);
- `results_files`: writing the JSON files runs write, never overwritten (reading them is `incidentkb.results`);
- `table`: the incidents x cells table for the terminal and Markdown;
- `wheelhouse`: the wheels some cells need, for a host without internet (and what starts nox there);
- `resolve`: versions chosen when a cell runs (the `latest` stack, torch=latest, what a candidate leaves open);
- `frozen`: such a resolution made where the index is and carried in a wheelhouse to a host without it;
- `session_args`: the nox sessions' arguments: `--help` answered, a wrong one said in one line;
- `candidate`: a user's pins (command line, requirements.txt, pylock.toml, uv.lock) as a cell, and its summary;
- `merge`: results folders from other hosts or jobs added to one, nothing overwritten or doubled;
- `slurm`: cells as Slurm jobs: submitted, waited for, their results collected;
- `workflow`: the GitHub Actions workflow of the matrix, one job per cell.
- `bisect` (pure: candidates, the search, flaky steps, the final line), `package_index` (a package's releases)
  and `bisect_run` (each step's environment and pytest runs, the bisection's results file): `nox -s bisect`.

May import: `incidentkb.results`, `incidentkb.verdict`, `incidentkb.records`, `incidentkb.host`. It reads the pytest
plugin's report as JSON data and never imports the plugin.
"""
