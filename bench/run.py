"""`make bench`: every benchmark, one after the other, printing figures and ratios.

``BENCH_QUICK=1 make bench`` (or ``python bench/run.py --quick``) runs the province-scale
benchmark with 5 s wrk cells instead of 20 s; ``BENCH_DB=sqlite|postgresql`` runs one database.
``BENCH_JSON=FILE`` also writes the province-scale figures as JSON.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
QUICK = "--quick" in sys.argv[1:] or os.environ.get("BENCH_QUICK", "") not in ("", "0")

for script in ("bench_docx.py", "bench_app.py", "bench_signing.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, os.path.join(HERE, script)], check=True)

print("== bench_lists.py (test client, 20,000 entries)", flush=True)
subprocess.run([sys.executable, os.path.join(HERE, "bench_lists.py")], check=True)

print("== bench_scale.py (gunicorn -w 2 + wrk, 100,000 entries, SQLite and PostgreSQL)", flush=True)
scale = [sys.executable, os.path.join(HERE, "bench_scale.py")]
scale += ["--db", os.environ.get("BENCH_DB", "both")]
if os.environ.get("BENCH_JSON"):
    scale += ["--json", os.environ["BENCH_JSON"]]
subprocess.run(scale + (["--quick"] if QUICK else []), check=True)
