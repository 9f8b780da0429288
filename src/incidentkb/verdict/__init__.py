"""What a case's run means: roles, outcome words, and the table that decides one from the other.

`outcomes` holds the one table from (role, what was observed) to the outcome word, and each word's meaning,
sentence form, level and effect on a run. The pytest plugin, the results files, the terminal table, the site and
the docs all read it. `judge` derives a case's verdict from what a run stored; `needed` judges a fix (or failed
attempt) against its incident's symptom in the same cell.

May import: `incidentkb.match`, `incidentkb.records`, `incidentkb.host`.
"""
