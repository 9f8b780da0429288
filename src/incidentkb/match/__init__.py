"""Finding the incident behind an error: what "the same error" means, pasted tracebacks, ranked matches.

- `signatures`: whether one error matches a record's signature (the test the regressions apply too);
- `tracebacks`: a pasted traceback (any of the shapes people paste) read back into errors;
- `matcher`: every record's signatures compiled once, and the ranked incidents for an error.

May import: `incidentkb.records`, `incidentkb.host`.
"""
