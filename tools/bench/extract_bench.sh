#!/usr/bin/env bash
# Throughput of `gopwatch extract` (BENCHMARKS.md).
# Usage: tools/bench/extract_bench.sh [-n RUNS] [--every K] CLIPS.csv
#  1. the whole list, --jobs 2 (this machine's cores), once, into a fresh directory:
#     clips/s, frames/s, peak RSS;
#  2. every K-th clip (default 10), one job, RUNS times (default 5) alternating with the
#     reference, a full single-threaded decode of the same clips in one process
#     (tools/bench/pyav_decode.py, FFmpeg through PyAV): medians and their ratio.
set -euo pipefail
runs=5
every=10
while [[ $# -gt 1 ]]; do
    case $1 in
        -n) runs=$2; shift 2 ;;
        --every) every=$2; shift 2 ;;
        *) break ;;
    esac
done
list=${1:?usage: extract_bench.sh [-n RUNS] [--every K] CLIPS.csv}
bin=${GOPWATCH:-target/release/gopwatch}
py=${PYTHON:-.venv/bin/python}
[[ -x $bin ]] || { echo "build first: cargo build --release" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "== whole list, --jobs 2"
/usr/bin/time -f 'wall %e s, peak RSS %M KiB' "$bin" extract --list "$list" --out "$tmp/full" --jobs 2 2>&1 | grep -v '^gopwatch extract: [0-9]*/'
du -sh "$tmp/full" | cut -f1 | sed 's/^/output size /'
rm -rf "$tmp/full"

echo "== every $every-th clip, one job, $runs runs alternating with the reference"
dir=$(cd "$(dirname "$list")" && pwd)
awk -F, -v d="$dir" -v k="$every" 'NR == 1 && $1 == "path" { next } { if (n++ % k == 0) print d "/" $0 }' "$list" >"$tmp/sub.csv"
ours=(); theirs=()
for ((i = 0; i < runs; i++)); do
    rm -rf "$tmp/sub"
    t0=$(date +%s.%N)
    line=$("$bin" extract --list "$tmp/sub.csv" --out "$tmp/sub" --jobs 1 2>&1 | tail -n1)
    ours+=("$(bc -l <<<"$(date +%s.%N) - $t0")")
    frames=$("$py" tools/bench/pyav_decode.py "$list" --every "$every")
    theirs+=("${frames##* }")
done
n_frames=$(awk '{print $4}' <<<"$frames")
n_clips=$(awk '{print $2}' <<<"$frames")
mo=$(printf '%s\n' "${ours[@]}" | median)
mt=$(printf '%s\n' "${theirs[@]}" | median)
echo "last gopwatch line: $line"
printf '| clips | frames | gopwatch extract, 1 job (s) | clips/s | frames/s | full decode, PyAV/FFmpeg 1 thread (s) | frames/s | ratio |\n|---|---|---|---|---|---|---|---|\n'
printf '| %d | %d | %.2f | %.1f | %.0f | %.2f | %.0f | %.2fx |\n' "$n_clips" "$n_frames" "$mo" "$(bc -l <<<"$n_clips / $mo")" \
    "$(bc -l <<<"$n_frames / $mo")" "$mt" "$(bc -l <<<"$n_frames / $mt")" "$(bc -l <<<"$mt / $mo")"
