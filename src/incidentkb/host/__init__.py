"""What this machine and this Python have: installed versions, version rules, GPUs and hardware.

The lowest layer: every other subpackage may import it. May import: nothing of incidentkb. Two modules:

- `versions`: the one reader of installed versions, the one version predicate (packaging's PEP 440 rules) and
  the one way to compare distribution names;
- `probe`: the one probe of the machine (GPUs via nvidia-smi and via torch, CPU, memory, driver, CUDA).

Every probe here is best effort and never raises: a report with `null` for the driver beats no report.
"""
