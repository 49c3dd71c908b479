#!/usr/bin/env bash
# Mutation testing of the pure and central modules (metrics, thresholds/fitness, scores, labels,
# evaluation, heads/inputs) with the fast tests, as configured in pyproject.toml's [tool.mutmut].
# Not part of CI (minutes on 2 cores): run it before a change to those modules lands, and update
# the score table and the survivors in tests/README.md.
#
#   scripts/mutation.sh            # installs .[mutation] into this Python, runs, prints the scores
#
# Exits 1 when a goal is missed: a surviving mutant in metrics, fitness or scores that
# tests/README.md does not name as equivalent, or less than 80 % of the tested mutants killed in
# evaluation or inputs (or in labels).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e ".[mutation]" >/dev/null 2>&1 ||
    python3 -m pip install --disable-pip-version-check -e ".[mutation]"  # again, to show why it failed
cores="$(nproc)"  # before OMP_NUM_THREADS is set below: nproc honours it
export YOLO_OFFLINE=1
# The tests run inside a copy in mutants/, so conftest.py's ../shared would point at the wrong place.
CASCADE_SHARED="${CASCADE_SHARED:-$(cd .. && pwd)/shared}"
export CASCADE_SHARED
# Each mutant runs in a process forked from the one that ran the tests; an OpenMP thread pool (torch
# on CPU) does not survive a fork, and a head's forward pass then hangs until mutmut's timeout. One
# thread per process is also the fastest with one process per core.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

rm -rf mutants  # mutmut caches per function: a fresh run is the only reproducible one
log="$(mktemp)"
# Every mutant is a pytest session with its own temporary folder, which pytest would keep: put them
# all in one folder and remove it at the end.
PYTEST_DEBUG_TEMPROOT="$(mktemp -d)"
export PYTEST_DEBUG_TEMPROOT
trap 'rm -rf "$PYTEST_DEBUG_TEMPROOT"' EXIT
start=$SECONDS
if ! mutmut run --max-children "$cores" </dev/null >"$log" 2>&1; then
    tail -n 50 "$log"
    echo "mutation.sh: mutmut run failed (the full log: $log)" >&2
    exit 1
fi
echo "mutmut run: $((SECONDS - start)) s on $cores cores; $(tr '\r' '\n' <"$log" | grep -a '/' | tail -n 1)"
rm -f "$log"
mutmut results --all true >mutants/results.txt

python3 - mutants/results.txt tests/README.md <<'EOF'
import re
import sys
from collections import Counter, defaultdict

results = open(sys.argv[1]).read()
try:
    readme = open(sys.argv[2]).read()
except FileNotFoundError:
    readme = ""
by_module = defaultdict(Counter)
survivors = []
for name, status in re.findall(r"^\s*(\S+): (.+?)\s*$", results, re.M):
    module = re.match(r"(.*?)\.x[_\u01c1]", name).group(1).removeprefix("cascade.")
    by_module[module][status] += 1
    if status == "survived":
        survivors.append((module, name))

TESTED = ("killed", "survived", "timeout", "suspicious")  # "no tests" and "skipped" never ran
def score(counts):
    tested = sum(counts[s] for s in TESTED)
    return 100 * (counts["killed"] + counts["timeout"]) / tested if tested else float("nan")

rows = [(m, by_module[m]) for m in sorted(by_module)] + [("overall", sum(by_module.values(), Counter()))]
print(f"\n{'module':<20} {'killed':>6} {'survived':>8} {'timeout':>7} {'no tests':>8} {'score':>7}")
for module, c in rows:
    print(f"{module:<20} {c['killed']:>6} {c['survived']:>8} {c['timeout'] + c['suspicious']:>7} "
          f"{c['no tests']:>8} {score(c):>6.1f}%")
print("score = (killed + timeout) / tested mutants (no tests: a function no fast test calls)\n")

explained = set(re.findall(r"`([\w.\u01c1]+__mutmut_\d+)`", readme))
print(f"surviving mutants ({len(survivors)}; `mutmut show NAME` for the diff):")
for module, name in survivors:
    print(f"  {name}" + ("" if name in explained else "   <- not explained in tests/README.md"))

failures = [f"{name} survives in {module} and tests/README.md does not explain it"
            for module, name in survivors
            if module in ("metrics", "thresholds.fitness", "scores") and name not in explained]
failures += [f"{module}: {score(by_module[module]):.1f}% < 80%" for module in ("evaluation", "heads.inputs", "labels")
             if not score(by_module[module]) >= 80]
for failure in failures:
    print("GOAL MISSED:", failure)
sys.exit(1 if failures else 0)
EOF
