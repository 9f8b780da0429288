"""The knowledge base as a website: a MkDocs plugin that builds every page from the records and the results.

Nothing generated is committed: `incidents/*.yaml` and `regressions/results/*.json` are read when the site is
built, so a new record or a new results file shows up on the next build. The parts, each in its own module:

- `sources` reads records and results files (with `incidentkb.records.reader` and `incidentkb.results`);
  `windows` reads bisections (`regressions/results/bisect/`) into version windows for the incident pages;
- `case_runs` holds what one case did in one cell, `standing` turns that into what a reader wants to know (where
  the symptom still reproduces, whether the fix holds) and words it;
- `layout` places cells on the grids (columns by the torch that ran, stacks newest first), `newest` words the
  answer of the newest versions that ran (the first line of an incident page and of the home table), `marks` gives
  each outcome its glyph and the tone that answers the visitor's question (warn, reassure, neutral);
- `code_links` links each case to its code (the repository when `repo_url` is set, else the file's own page);
  `folding` folds the long sections of long hand-written pages;
- `pages` says which pages exist; `render` and `markup` fill the Jinja templates under
  `incidentkb/templates/site/` with record text that can only ever be text, and `table_bodies` writes the bodies
  of the big tables (an incident's matrix, the matrix page, the summary table); `schema_doc` reads the schema;
- `generated` is the MkDocs page of a generated page (rendered from its template, without Markdown);
- `worker` renders the generated pages in a second process while MkDocs puts earlier ones in the theme, on a
  big site where that is safe;
- `plugin` only routes MkDocs' events to them; `config` holds its options.

At 1,000 incidents the site builds in about a fifth of the time of a plain MkDocs Material site of the same
incidents with every page in its navigation, and writes a fifth of its output (`bench/scale.py` builds both
side by side; docs/performance.md has the numbers). Its pages are `.html` files rather than folders, so the
built site opens from disk, and a build creates no folder per page.

May import: `incidentkb.matrix`, `incidentkb.results` (runs, cells, history), `incidentkb.verdict`, `incidentkb.match`,
`incidentkb.records`, `incidentkb.host`; never `incidentkb.check` or the CLI.
"""

from __future__ import annotations

__all__: list[str] = []
