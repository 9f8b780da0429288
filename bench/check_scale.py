"""How long `incidentkb check` takes on a large knowledge base: N synthetic records, each with its regression file.

The records come from bench/synthetic.py: each is the size of a real one (a traceback, printed values, a failed
attempt, an alternative fix, lessons, facts, four cases) and is valid, so the whole path runs: YAML composition,
the schema, the placeholder scan, the cross-references and the `ast` scan of every regression file. The time reported is for
`check()` itself (loading and checking, Python already started), the best of a few repeats, in wall-clock and CPU time (CPU time is what the checker costs when
other work shares the machine); the end-to-end
time of the `incidentkb check` command, interpreter start-up included, is printed beside it.

    .venv/bin/python bench/check_scale.py            # 1,000 records
    .venv/bin/python bench/check_scale.py -n 5000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from incidentkb.check.checker import check

sys.path.insert(0, str(Path(__file__).parent))  # the shared generator, also when loaded by a test
from synthetic import generate  # noqa: E402

__all__ = ["generate", "main"]

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--records", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.records)
        times, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            report = check(root)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        if not report.ok:
            print("\n".join(str(p) for p in report.problems[:10]), file=sys.stderr)
            return 1
        start = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "incidentkb.cli", "check", "--root", str(root)],
                             capture_output=True, text=True)
        end_to_end = time.perf_counter() - start
        print(f"{report.summary()}")
        print(f"check() on {args.records} records: best {min(times):.3f} s, median "
              f"{sorted(times)[len(times) // 2]:.3f} s over {args.repeat} runs (CPU time: best {min(cpu):.3f} s)")
        print(f"load average while timing: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} cores (other work on the machine slows the wall-clock time)")
        print(f"`incidentkb check` end to end (interpreter start included): {end_to_end:.3f} s, exit {cli.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
