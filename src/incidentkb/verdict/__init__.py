"""What a case's run means: roles, outcome words, and the table that decides one from the other.

`outcomes` holds the one table from (role, what was observed) to the outcome word, and each word's meaning,
sentence form, level and effect on a run. The pytest plugin, the results files, the terminal table, the site and
the docs all read it.

May import: `incidentkb.match`, `incidentkb.records`, `incidentkb.host`.
"""
