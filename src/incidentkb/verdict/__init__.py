"""What a case's run means: roles, outcome words, and the table that decides one from the other.

`outcomes` holds the one table from (role, what was observed) to the outcome word, and each word's meaning,
sentence form, level and effect on a run; `env_fault` tells an environment that cannot import what a case tests
from an outcome of the bug; `judge` derives a stored case's verdict; `needed` judges a fix (or failed attempt)
against its incident's symptom in the same cell. The pytest plugin, the results files, the terminal table, the
site and the docs all read it.

May import: `incidentkb.match`, `incidentkb.records`, `incidentkb.host`.
"""
