#!/usr/bin/env bash
# Times `gopwatch scan` against `ffmpeg -threads 1 -f null` on the same streams, in the same
# run, alternating the two, and prints medians, the ratio and peak RSS (GNU time).
# Usage: tools/bench/scan_vs_ffmpeg.sh [-n RUNS] [--sub SUBCOMMAND] [--scan-arg ARG]... STREAM...
#   --sub frames --scan-arg --intra-only --scan-arg -o --scan-arg /dev/null: times intra
#   picture reconstruction instead of the scan; --scan-arg --residual: scan + residual planes.
set -euo pipefail
runs=7
sub=scan
scan_args=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -n) runs=$2; shift 2 ;;
        --scan-arg) scan_args+=("$2"); shift 2 ;;
        --sub) sub=$2; shift 2 ;;
        *) break ;;
    esac
done
bin=${GOPWATCH:-target/release/gopwatch}
[[ -x $bin ]] || { echo "build first: cargo build --release" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt install time)" >&2; exit 2; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

label="$sub${scan_args[*]:+ ${scan_args[*]}}"
printf '| stream | gopwatch %s (s) | ffmpeg -threads 1 (s) | ratio | gopwatch peak RSS (MiB) | ffmpeg peak RSS (MiB) |\n|---|---|---|---|---|---|\n' "$label"
for f in "$@"; do
    ours=(); theirs=(); rss_o=(); rss_t=()
    for ((i = 0; i < runs; i++)); do
        out=$( { /usr/bin/time -f '%e %M' "$bin" "$sub" "${scan_args[@]}" "$f" >/dev/null; } 2>&1 | tail -n1)
        ours+=("${out% *}"); rss_o+=("${out#* }")
        out=$( { /usr/bin/time -f '%e %M' ffmpeg -nostdin -v error -threads 1 -i "$f" -f null - >/dev/null; } 2>&1 | tail -n1)
        theirs+=("${out% *}"); rss_t+=("${out#* }")
    done
    mo=$(printf '%s\n' "${ours[@]}" | median)
    mt=$(printf '%s\n' "${theirs[@]}" | median)
    ro=$(printf '%s\n' "${rss_o[@]}" | sort -n | tail -n1)
    rt=$(printf '%s\n' "${rss_t[@]}" | sort -n | tail -n1)
    printf '| %s | %.3f | %.3f | %.2fx | %.1f | %.1f |\n' "$(basename "$f")" "$mo" "$mt" \
        "$(echo "$mt / $mo" | bc -l)" "$(echo "$ro / 1024" | bc -l)" "$(echo "$rt / 1024" | bc -l)"
done
