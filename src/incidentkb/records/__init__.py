"""Incident records: the YAML of `incidents/<id>.yaml`, its schema, and every problem placed at its line.

- `yamlload`: safe YAML that remembers where each value was written;
- `schema`: the pydantic model, the one definition of a record (`regex_risk` keeps its patterns safe);
- `wording`: a schema error as one sentence at its `file:line:col`, with did-you-mean;
- `reader`: one record or all of them, valid or with their problems; `bulk`: reading many at once;
- `json_schema`: the JSON Schema editors use, generated from the model.

May import: `incidentkb.host` only. Everything above reads records through `reader`.
"""
