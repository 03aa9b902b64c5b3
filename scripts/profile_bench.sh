#!/usr/bin/env bash
# CPU profile of a benchmark scenario with `perf` (Linux): where the migration's CPU goes,
# by process, by thread, by library and by function. Not part of the test command.
#
#   scripts/profile_bench.sh [SCENARIO] [RECORDS] [OUT]
#
# SCENARIO is s or l (default l), RECORDS the org's size (default 300000: the L mix at a
# size that profiles in about a minute), OUT the output directory (default
# target/bench/profile). Needs a release build (`cargo build --release -p ferry`) and perf.
set -euo pipefail
cd "$(dirname "$0")/.."

scenario="${1:-l}"
records="${2:-300000}"
out="${3:-target/bench/profile}"
ferry="${FERRY_BIN:-target/release/ferry}"
mkdir -p "$out"

records_flag="--records-$scenario"
perf record -F 499 -g -o "$out/perf.data" -- \
    "$ferry" bench --scenarios "$scenario" "$records_flag" "$records" --out "$out/bench" \
    > "$out/bench.txt" 2>&1

# The migrate child is the process with the most samples (the simulator runs in the
# parent, the download-only limit in a child of its own, before it).
per_process="$(perf script -i "$out/perf.data" -F pid,tid 2> /dev/null \
    | awk '{split($1, a, "/"); all[a[1]]++; if (a[1] == a[2]) main[a[1]]++}
           END {for (p in all) print all[p], main[p] + 0, p}' | sort -nr)"
child="$(echo "$per_process" | head -1 | awk '{print $3}')"
{
    echo "# Profile of ferry bench --scenarios $scenario $records_flag $records"
    echo
    grep -E '^\| ' "$out/bench.txt" || true
    echo
    echo "## Samples per process (samples, of them on the main thread, pid)"
    echo "$per_process"
    echo
    echo "## The migration's process ($child), by thread (% of all samples; $child is its main thread)"
    perf report -i "$out/perf.data" --no-children --pid "$child" --sort pid --stdio -g none 2> /dev/null \
        | grep -v '^#' | grep -v '^$' | head -12
    echo
    echo "## Its main thread, by library (% of all samples)"
    perf report -i "$out/perf.data" --no-children --sort pid,dso --stdio -g none 2> /dev/null \
        | grep -E "^ +[0-9.]+% +$child:" | head -6
    echo
    echo "## Its main thread, by function (% of all samples)"
    perf report -i "$out/perf.data" --no-children --sort pid,sym --stdio -g none 2> /dev/null \
        | grep -E "^ +[0-9.]+% +$child:" | head -30
    echo
    echo "## The whole process, by function (% of all samples)"
    perf report -i "$out/perf.data" --no-children --pid "$child" --sort sym --stdio -g none 2> /dev/null \
        | grep -v '^#' | grep -v '^$' | head -30
} > "$out/profile.md"
echo "Written: $out/profile.md (raw samples: $out/perf.data)"
