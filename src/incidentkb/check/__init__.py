"""`incidentkb check`: records valid, records and regressions naming each other, results matching records.

- `checker`: the whole check and its report;
- `regression_scan`: what a regression file declares, read from its syntax tree (never imported);
- `results_wordings`: every error a symptom case observed matches its own incident only.

May import: `incidentkb.matrix`, `incidentkb.results`, `incidentkb.verdict`, `incidentkb.match`, `incidentkb.records`, `incidentkb.host`.
"""
