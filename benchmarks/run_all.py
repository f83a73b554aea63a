"""Run every benchmark in turn and print their figures (make bench).

``--smoke`` runs each in its smoke mode (tiny sizes, a few seconds: checks they run).
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "bench_token_endpoint.py",
    "bench_verify.py",
    "bench_scale.py",
    "bench_runbook.py",
    "bench_notebook_calls.py",
]

if __name__ == "__main__":
    extra = [arg for arg in sys.argv[1:] if arg == "--smoke"]
    failed = 0
    for name in BENCHMARKS:
        print(f"\n### {name}", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / name), *extra], cwd=HERE.parent).returncode != 0
    sys.exit(1 if failed else 0)
