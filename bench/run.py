"""`make bench`: every benchmark, one after the other, printing figures and ratios."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

for script in ("bench_docx.py", "bench_app.py", "bench_signing.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, os.path.join(HERE, script)], check=True)
