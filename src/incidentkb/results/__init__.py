"""Results: the one reader of results files, each read once into typed runs, cells, versions, hosts and cases.

- `cells`: the matrix cell, the key of a run (the matrix re-exports it);
- `files`: where results files live and how one is parsed (the only place their text is read);
- `runs`: a results file as a `Run` (its `Cell`, `Versions`, `Host`, `Case`s with their `Observation`), judged
  anew against today's records (`Run.judged`);
- `history`: a case's outcomes across the runs of its cell, and the changes between them (`nox -s changes`, the
  site's history).
- `needed`: where a fix or failed attempt is no longer needed, with the versions of the runs that say so;
- `bisections`: a bisection's file (`bisect/*.json`) as a `Bisection`: its steps, which ran, and its finding.

The table, the site, `changes`, `check`, the candidate summary and bisection read these objects; no module
outside this package indexes a results file's JSON. Writing them is `incidentkb.matrix.results_files`.

May import: `incidentkb.verdict`, `incidentkb.match`, `incidentkb.records`, `incidentkb.host`.
"""
