"""Finding the incident behind an error: what "the same error" means, pasted tracebacks, ranked matches.

- `signatures`: whether one error matches a record's signature (the test the regressions apply too);
- `tracebacks`: a pasted traceback (any of the shapes people paste) read back into errors;
- `matcher`: every record's signatures (and related errors') compiled once, and the ranked incidents for an error;
- `words`: the records' words indexed once, for a symptom given in words or a log excerpt without a traceback.

May import: `incidentkb.records`, `incidentkb.host`.
"""
