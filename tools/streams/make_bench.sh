#!/usr/bin/env bash
# Generates the 1080p30 benchmark streams (10 s, 300 frames each, raw H.264 Annex-B) into
# OUTDIR. Not committed: made on demand (a few minutes on one core each).
#
#   tools/streams/make_bench.sh OUTDIR
#
#   bench_1080p_baseline_4M.264     x264 Baseline (CAVLC), 4 Mb/s, GOP 30     (Pi-like)
#   bench_1080p_main_cabac_4M.264   x264 Main, CABAC, no B, 4 Mb/s, GOP 30    (Pi-like)
#   bench_1080p_high_b2_6M.264      x264 High, 2 B frames, 6 Mb/s, GOP 30     (Jetson / IP camera)
#   bench_1080p_intra_20M.264       x264 High, CABAC, 8x8 transform, every picture intra
#                                   (keyint=1), 20 Mb/s, 60 frames (intra reconstruction)
#
# Camera-like source, from ffmpeg's lavfi only: a zooming mandelbrot (texture everywhere,
# zoom = non-uniform motion) scaled up to 1080p, a testsrc2 panel moving across it (a moving
# object), and temporal noise (sensor noise, so skips are not free). Rate control is ABR
# (bitrate + VBV, as camera encoders do), one x264 thread so the output is reproducible.
# Idempotent: existing files are skipped.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
mkdir -p "$OUT"
FFMPEG=${FFMPEG:-ffmpeg}
FRAMES=${BENCH_FRAMES:-300}   # 10 s at 30 fps

GRAPH="mandelbrot=size=640x360:rate=30:start_scale=2.5:end_scale=0.05:end_pts=600,"
GRAPH+="scale=1920:1080:flags=bicubic,format=yuv420p[bg];"
GRAPH+="testsrc2=size=480x270:rate=30[obj];"
GRAPH+="[bg][obj]overlay=x='mod(t*220,W+w)-w':y='(H-h)/2+200*sin(t*1.3)':eof_action=endall,"
GRAPH+="noise=alls=8:allf=t,format=yuv420p[v]"

# enc NAME PROFILE BITRATE_KBPS X264PARAMS
enc() {
    local name=$1 profile=$2 kbps=$3 params=$4
    local dst="$OUT/$name"
    if [[ -s $dst ]]; then
        echo "skip $dst (exists)"
        return 0
    fi
    local tmp="$dst.tmp.$$"
    local cmd=("$FFMPEG" -nostdin -hide_banner -loglevel error -y
        -filter_complex "$GRAPH" -map "[v]" -frames:v "${NFRAMES:-$FRAMES}"
        -c:v libx264 -preset veryfast -profile:v "$profile" -pix_fmt yuv420p
        -x264-params "threads=1:keyint=30:min-keyint=30:scenecut=0:bitrate=$kbps:vbv-maxrate=$kbps:vbv-bufsize=$kbps:$params"
        -fflags +bitexact -f h264 "$tmp")
    printf '+'; printf ' %q' "${cmd[@]}"; printf '\n'
    if ! "${cmd[@]}"; then
        rm -f "$tmp"
        echo "$0: failed to make $dst" >&2
        return 1
    fi
    mv -f "$tmp" "$dst"
}

enc bench_1080p_baseline_4M.264   baseline 4000 "bframes=0:cabac=0:8x8dct=0:ref=1:weightp=0"
enc bench_1080p_main_cabac_4M.264 main     4000 "bframes=0:cabac=1:8x8dct=0:ref=1:weightp=0"
enc bench_1080p_high_b2_6M.264    high     6000 "bframes=2:b-adapt=0:cabac=1:8x8dct=1:ref=3"
NFRAMES=60 enc bench_1080p_intra_20M.264 high 20000 "keyint=1:min-keyint=1:bframes=0:cabac=1:8x8dct=1:ref=1:weightp=0"

echo "benchmark streams in $OUT"
