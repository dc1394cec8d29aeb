#!/usr/bin/env bash
# Generates the x264 test streams (raw H.264 Annex-B, .264) into OUTDIR.
#
#   tools/streams/make_x264.sh OUTDIR        (tools/test.sh uses OUTDIR = target/streams)
#
# Encoder: Debian 12's ffmpeg (5.1) with libx264 (core 164), one thread, so the output is
# deterministic for a given ffmpeg/x264 build. Sources are ffmpeg's built-in lavfi sources
# (no input files): testsrc2 scrolling slowly (sub-pel global motion) with a zooming
# mandelbrot patch moving along an ellipse on top (local motion, texture). Fades (weighted
# prediction) use the `fade` filter.
#
# Idempotent: a stream already present is skipped (delete it to regenerate). Each file is
# written to a temporary name first and renamed when complete.
#
# Parser I (CAVLC, no B): base_*, high_cavlc_*, main_cavlc_pskip
# Parser II (CABAC and/or B): main_cabac_nob, high_*
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
mkdir -p "$OUT"

FFMPEG=${FFMPEG:-ffmpeg}
encoders=$("$FFMPEG" -hide_banner -encoders 2>/dev/null || true)
if [[ $encoders != *libx264* ]]; then
    echo "$0: $FFMPEG has no libx264 encoder (Debian: apt-get install ffmpeg)" >&2
    exit 2
fi

# src W H [EXTRA_FILTERS]: a filter graph with output label [v].
src() {
    local w=$1 h=$2 extra=${3:-}
    local fg=$(( (w < h ? w : h) / 3 ))
    fg=$(( fg / 2 * 2 ))
    local g="testsrc2=size=${w}x${h}:rate=25,scroll=horizontal=0.004:vertical=0.002[bg];"
    g+="mandelbrot=size=${fg}x${fg}:rate=25,format=yuv420p[fg];"
    g+="[bg][fg]overlay=x='(W-w)/2+(W-w)/3*sin(t*2.5)':y='(H-h)/2+(H-h)/3*cos(t*1.7)':eof_action=endall"
    [[ -n $extra ]] && g+=",$extra"
    g+=",format=yuv420p[v]"
    printf '%s' "$g"
}

# Slow, mostly static scene (many P_Skip): the patch drifts slowly, the background stays.
src_slow() {
    local w=$1 h=$2
    local g="testsrc2=size=${w}x${h}:rate=25[bg];"
    g+="mandelbrot=size=64x64:rate=25:end_scale=0.3:end_pts=400,format=yuv420p[fg];"
    g+="[bg][fg]overlay=x='40+t*12':y='H/2':eof_action=endall,format=yuv420p[v]"
    printf '%s' "$g"
}

# enc NAME FRAMES PROFILE X264PARAMS GRAPH
enc() {
    local name=$1 frames=$2 profile=$3 params=$4 graph=$5
    local dst="$OUT/$name"
    if [[ -s $dst ]]; then
        echo "skip $dst (exists)"
        return 0
    fi
    local tmp="$dst.tmp.$$"
    local cmd=("$FFMPEG" -nostdin -hide_banner -loglevel error -y
        -filter_threads 1 -filter_complex "$graph" -map "[v]" -frames:v "$frames"
        -c:v libx264 -preset medium -profile:v "$profile" -pix_fmt "${PIXFMT:-yuv420p}"
        -x264-params "threads=1:$params" -fflags +bitexact -f h264 "$tmp")
    printf '+'; printf ' %q' "${cmd[@]}"; printf '\n'
    if ! "${cmd[@]}"; then
        rm -f "$tmp"
        echo "$0: failed to make $dst" >&2
        return 1
    fi
    mv -f "$tmp" "$dst"
}

FADE="fade=t=in:start_frame=0:nb_frames=18,fade=t=out:start_frame=22:nb_frames=18"

# ---- Parser I: CAVLC, no B ------------------------------------------------------------
BASE="keyint=30:bframes=0:cabac=0:8x8dct=0:weightp=0:partitions=all:crf=26"
enc base_ref1.264          40 baseline "$BASE:ref=1"                         "$(src 352 288)"
enc base_ref4.264          40 baseline "$BASE:ref=4"                         "$(src 352 288)"
enc base_slices4.264       40 baseline "$BASE:ref=2:slices=4"                "$(src 352 288)"
enc base_slicemax.264      30 baseline "$BASE:ref=1:slice-max-size=600"      "$(src 352 288)"
enc base_intrarefresh.264  40 baseline "$BASE:ref=1:intra-refresh=1"         "$(src 352 288)"
enc base_426x240.264       30 baseline "$BASE:ref=2"                         "$(src 426 240)"
# Pi-like intra refresh without I pictures after the first: joined mid-way in mvs_oracle.rs.
enc main_cabac_ir_k10.264  60 main     "keyint=10:bframes=0:cabac=1:ref=1:weightp=0:intra-refresh=1:crf=26" "$(src 352 288)"
enc base_1366x768.264      10 baseline "$BASE:ref=1:crf=30"                  "$(src 1366 768)"
HCAVLC="keyint=30:bframes=0:cabac=0:8x8dct=1:ref=3:weightp=0:partitions=all:crf=26"
enc high_cavlc_8x8.264     40 high     "$HCAVLC"                             "$(src 352 288)"
enc high_cavlc_cqm.264     40 high     "$HCAVLC:cqm=jvt"                     "$(src 352 288)"
# x264 writes the lowest profile the tools fit: CAVLC + no B + no weights = Baseline (66),
# whatever -profile:v says; the name keeps "main" (the issue's name for it).
enc main_cavlc_pskip.264   40 baseline     "keyint=30:bframes=0:cabac=0:8x8dct=0:ref=1:weightp=0:crf=35" "$(src_slow 352 288)"

# ---- Parser II: CABAC and/or B ----------------------------------------------------------
# Pi-like: Main, CABAC, no B, one reference, no weighted prediction.
enc main_cabac_nob.264     30 main     "keyint=30:bframes=0:cabac=1:8x8dct=0:ref=1:weightp=0:crf=28" "$(src 640 360)"
HIGH="keyint=30:cabac=1:8x8dct=1:partitions=all:crf=26"
enc high_cabac_8x8.264     40 high     "$HIGH:bframes=0:ref=3:weightp=0"     "$(src 352 288)"
enc high_b2_pyrnone.264    40 high     "$HIGH:bframes=2:b-adapt=0:b-pyramid=none:ref=3:weightp=0:weightb=0"   "$(src 352 288)"
enc high_b3_pyrnormal.264  40 high     "$HIGH:bframes=3:b-adapt=0:b-pyramid=normal:ref=4:weightp=0:weightb=0" "$(src 352 288)"
enc high_direct_spatial.264  40 high   "$HIGH:bframes=2:b-adapt=0:direct=spatial:ref=3:weightp=0:weightb=0"   "$(src 352 288)"
# x264 (b-adapt=0, direct=temporal) still writes direct_spatial_mv_pred_flag=1 in some B
# slices: this stream has both kinds.
enc high_direct_temporal.264 40 high   "$HIGH:bframes=2:b-adapt=0:direct=temporal:ref=3:weightp=0:weightb=0"  "$(src 352 288)"
# Explicit weighted prediction in P slices (weighted_pred_flag = 1).
enc high_weightp2.264      40 high     "$HIGH:bframes=0:ref=3:weightp=2"     "$(src 352 288 "$FADE")"
# x264's weightb=1 (its default for High) is implicit bi-prediction weights (weighted_bipred_idc = 2).
enc high_weightb.264       40 high     "$HIGH:bframes=2:b-adapt=0:weightb=1:ref=3:weightp=0" "$(src 352 288 "$FADE")"
enc high_ref4_slices.264   40 high     "$HIGH:bframes=0:ref=4:slices=3:weightp=0"            "$(src 352 288)"
enc high_cqm.264           40 high     "$HIGH:bframes=0:ref=3:cqm=jvt:weightp=0"             "$(src 352 288)"
# Odd size (cropping) with everything on: B, implicit bi-pred weights, explicit P weights.
enc high_odd_426x240.264   30 high     "$HIGH:bframes=2:b-adapt=0:ref=3:weightp=2"           "$(src 426 240)"

# ---- Parser II: B slices with CAVLC (the entropy mode is independent of B prediction) -------
HCB="keyint=30:cabac=0:8x8dct=1:weightp=0:weightb=0:b-adapt=0:partitions=all:crf=26"
enc high_cavlc_b2_spatial.264     40 high "$HCB:bframes=2:b-pyramid=none:direct=spatial:ref=3"  "$(src 352 288)"
enc high_cavlc_b3_temporal.264    40 high "$HCB:bframes=3:b-pyramid=normal:direct=temporal:ref=4" "$(src 352 288)"
enc main_cavlc_b2.264      30 main "keyint=30:cabac=0:weightp=0:weightb=0:b-adapt=0:bframes=2:direct=spatial:ref=2:partitions=all:crf=24" "$(src 320 240)"

# ---- Intra pictures (tests/intra_oracle.rs): deblocking variants, all-intra, cropping -------
# Short GOPs so that each stream has several intra pictures.
INTRA="bframes=0:ref=1:weightp=0:partitions=all:crf=24"
enc intra_nodeblock.264        12 high "keyint=4:cabac=1:8x8dct=1:no-deblock=1:$INTRA"  "$(src 352 288)"
enc intra_deblock_offsets.264  12 high "keyint=4:cabac=1:8x8dct=1:deblock=3,-2:$INTRA" "$(src 352 288)"
enc intra_cavlc_offsets.264    12 high "keyint=4:cabac=0:8x8dct=1:deblock=-2,3:$INTRA" "$(src 352 288)"
# Every picture intra (keyint=1), High with 8x8 transform and custom matrices, 3 slices.
enc intra_all_cqm_slices.264   8  high "keyint=1:cabac=1:8x8dct=1:cqm=jvt:slices=3:$INTRA" "$(src 352 288)"
# Odd display size: cropped on the right and at the bottom (350x198 -> 352x208 coded).
enc intra_crop_350x198.264     12 high "keyint=4:cabac=1:8x8dct=1:$INTRA"              "$(src 350 198)"
# High QP (strong deblocking, large alpha/beta) and low QP (little filtering).
enc intra_qp44.264             8  main "keyint=2:cabac=1:8x8dct=0:bframes=0:ref=1:weightp=0:qp=44" "$(src 352 288)"
enc intra_qp8.264              4  high "keyint=2:cabac=0:8x8dct=1:bframes=0:ref=1:weightp=0:qp=8"  "$(src 352 288)"

# ---- Residual planes (tests/residual_oracle.rs) -------------------------------------------
# Full-pel motion only (subme=0), no deblocking, no weighted prediction: where a block's
# vector is a whole number of samples, ffmpeg's decoded block is exactly
# Clip1(reference block + residual) (8.4.2.2 without interpolation, 8.5.14, no 8.7).
RES="subme=0:no-deblock=1:weightp=0:weightb=0:partitions=all:crf=22"
enc resid_cavlc_4x4.264      16 baseline "keyint=16:bframes=0:cabac=0:8x8dct=0:ref=1:chroma-qp-offset=2:$RES"  "$(src 352 288)"
enc resid_cabac_8x8_cqm.264  16 high "keyint=16:bframes=0:cabac=1:8x8dct=1:ref=2:cqm=jvt:chroma-qp-offset=-3:$RES" "$(src 352 288)"
enc resid_cavlc_8x8_b2.264   16 high "keyint=16:bframes=2:b-adapt=0:b-pyramid=none:direct=spatial:cabac=0:8x8dct=1:ref=2:$RES" "$(src 352 288)"
enc resid_cabac_b3_cqm.264   16 high "keyint=16:bframes=3:b-adapt=0:b-pyramid=normal:direct=spatial:cabac=1:8x8dct=1:ref=3:cqm=jvt:$RES" "$(src 352 288)"
# RGB conversion (tests/rgb_oracle.rs): BT.709 matrix and full range signalled in the VUI.
enc rgb_bt709_full.264       4 high "keyint=2:bframes=0:ref=1:colorprim=bt709:transfer=bt709:colormatrix=bt709:fullrange=on:crf=24" "$(src 350 198)"

# ---- Out of scope: must be refused with an Unsupported error, never mis-parsed -----------
enc oos_interlaced.264     6 high     "keyint=30:bframes=0:cabac=0:interlaced=1"   "$(src 352 288)"
enc oos_mbaff_cabac.264    6 high     "keyint=30:bframes=0:cabac=1:interlaced=1"   "$(src 352 288)"
PIXFMT=yuv422p     enc oos_yuv422.264  6 high422 "keyint=30:bframes=0:cabac=0" "$(src 352 288)"
PIXFMT=yuv444p     enc oos_yuv444.264  6 high444 "keyint=30:bframes=0:cabac=0" "$(src 352 288)"
PIXFMT=yuv420p10le enc oos_10bit.264   6 high10  "keyint=30:bframes=0:cabac=0" "$(src 352 288)"

echo "x264 streams in $OUT"
