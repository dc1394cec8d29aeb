#!/usr/bin/env bash
# The test command of gopwatch (README, .ci/run). On a fresh Debian 12 machine (root or sudo,
# apt reachable, rustup + cargo installed) it:
#   1. installs the missing apt packages (ffmpeg, x264, cross compilers, qemu-user, venv),
#   2. adds the rust cross targets aarch64-unknown-linux-gnu / armv7-unknown-linux-gnueabihf,
#   3. makes .venv with the oracle's Python packages (tools/requirements-test.txt),
#   4. generates the x264 test streams into target/streams/ (tools/streams/make_x264.sh)
#      and the tiny synthetic clip set into target/synth_tiny/ (tools/synth),
#   5. runs `cargo test --profile ci --locked` with GOPWATCH_PYTHON / GOPWATCH_STREAMS /
#      GOPWATCH_SYNTH / GOPWATCH_SHARED set,
#   6. runs the Python tools' tests (tools/synth with tiny clips, the CoViAR oracle's core),
#   7. runs the parser tests for aarch64 under qemu,
#   8. builds for armv7 and checks that its parses and extracted features equal the host's.
# Every step is skipped when already done, so a second run only runs the tests.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
START=$SECONDS

finish() {
    local rc=$?
    local t=$((SECONDS - START))
    if ((rc == 0)); then
        printf '\n==== all tests passed; total time %dm%02ds ====\n' $((t / 60)) $((t % 60))
    else
        printf '\n==== FAILED (exit %d) in step "%s"; total time %dm%02ds ====\n' "$rc" "$STEP" $((t / 60)) $((t % 60)) >&2
    fi
}
STEP=start
trap finish EXIT

section() {
    STEP=$*
    printf '\n==== %s ==== (%ds)\n' "$*" "$((SECONDS - START))"
}

die() {
    echo "tools/test.sh: $*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------
section "1/8 system packages (apt)"
APT_PKGS=(ffmpeg x264 qemu-user gcc gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf
    libc6-dev libc6-dev-arm64-cross libc6-dev-armhf-cross python3 python3-venv)
missing=()
if command -v dpkg-query >/dev/null; then
    for p in "${APT_PKGS[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ $status == *"install ok installed"* ]] || missing+=("$p")
    done
else
    echo "no dpkg-query (not Debian?): not installing packages; checking commands only"
fi
if ((${#missing[@]})); then
    SUDO=()
    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null || die "missing packages (${missing[*]}) and not root and no sudo"
        SUDO=(sudo)
    fi
    echo "installing: ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "all present: ${APT_PKGS[*]}"
fi
for c in ffmpeg qemu-aarch64 qemu-arm aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc python3; do
    command -v "$c" >/dev/null || die "command '$c' not found after installing packages"
done

# ---------------------------------------------------------------------------------------
section "2/8 rust cross targets"
command -v cargo >/dev/null || die "cargo not found (install rustup: https://rustup.rs)"
TARGETS=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
if command -v rustup >/dev/null; then
    installed=$(rustup target list --installed)
    need=()
    for t in "${TARGETS[@]}"; do
        grep -qx "$t" <<<"$installed" || need+=("$t")
    done
    if ((${#need[@]})); then
        rustup target add "${need[@]}"
    else
        echo "installed: ${TARGETS[*]}"
    fi
else
    echo "no rustup: assuming the standard libraries of ${TARGETS[*]} are installed"
fi
cargo --version

# ---------------------------------------------------------------------------------------
section "3/8 python venv (.venv) for the oracles"
REQ=tools/requirements-test.txt
STAMP=.venv/.requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
if [[ ! -x .venv/bin/python || $want != "$have" ]]; then
    echo "creating .venv from $REQ"
    python3 -m venv --clear .venv
    .venv/bin/python -m pip install --disable-pip-version-check -q -r "$REQ"
    echo "$want" >"$STAMP"
else
    echo ".venv up to date with $REQ"
fi
.venv/bin/python -c 'import av, numpy; print("av", av.__version__, "(FFmpeg", av.ffmpeg_version_info + ")", "numpy", numpy.__version__)'

# ---------------------------------------------------------------------------------------
section "4/8 x264 test streams (target/streams)"
STREAMS=$ROOT/target/streams
mkdir -p "$STREAMS"
# Regenerate everything when the generator or the encoder changes.
ffv=$(ffmpeg -hide_banner -version 2>/dev/null || true)
gen_id=$(printf '%s\n%s\n' "$(sha256sum <tools/streams/make_x264.sh)" "${ffv%%$'\n'*}" | sha256sum | cut -d' ' -f1)
if [[ $(cat "$STREAMS/.generator" 2>/dev/null || true) != "$gen_id" ]]; then
    echo "generator changed: removing old streams"
    rm -f "$STREAMS"/*.264 "$STREAMS"/*.tmp.*
fi
tools/streams/make_x264.sh "$STREAMS"
echo "$gen_id" >"$STREAMS/.generator"
# The tiny synthetic clip set (tools/synth --tiny, 16 clips), test input of `extract`.
SYNTH=$ROOT/target/synth_tiny
synth_id=$(printf '%s\n%s\n' "$(sha256sum <tools/synth/synth.py)" "${ffv%%$'\n'*}" | sha256sum | cut -d' ' -f1)
if [[ $(cat "$SYNTH/.generator" 2>/dev/null || true) != "$synth_id" || ! -f $SYNTH/CLIPS.csv ]]; then
    rm -rf "$SYNTH"
    .venv/bin/python tools/synth/synth.py --out "$SYNTH" --tiny --quiet
    echo "$synth_id" >"$SYNTH/.generator"
fi
echo "synthetic clips: $(($(wc -l <"$SYNTH/CLIPS.csv") - 1)) in $SYNTH"

export GOPWATCH_PYTHON=$ROOT/.venv/bin/python
export GOPWATCH_STREAMS=$STREAMS
export GOPWATCH_SYNTH=$SYNTH
if [[ -d $ROOT/../shared ]]; then
    GOPWATCH_SHARED=$(cd "$ROOT/../shared" && pwd)
    export GOPWATCH_SHARED
else
    unset GOPWATCH_SHARED
    echo "note: no ../shared next to the repository: the tests on the conformance streams will fail"
fi
echo "GOPWATCH_PYTHON=$GOPWATCH_PYTHON"
echo "GOPWATCH_STREAMS=$GOPWATCH_STREAMS"
echo "GOPWATCH_SYNTH=$GOPWATCH_SYNTH"
echo "GOPWATCH_SHARED=${GOPWATCH_SHARED:-}"

# ---------------------------------------------------------------------------------------
section "5/8 cargo test --profile ci --locked (host)"
cargo test --profile ci --locked

# ---------------------------------------------------------------------------------------
section "6/8 Python tools: dataset generator (tiny clips), CoViAR oracle core"
# numpy is pinned alike in tools/requirements-test.txt and tools/synth/requirements.txt.
(cd tools/synth && "$ROOT/.venv/bin/python" -m unittest -q test_synth)
(cd tools/oracle && "$ROOT/.venv/bin/python" -m unittest -q test_coviar_mvs)

# ---------------------------------------------------------------------------------------
section "7/8 parser tests on aarch64 under qemu"
# Unit tests, the ffmpeg comparison (its oracle CSVs are cached by step 5) and bad input.
# (The CLI test spawns the binary, which the kernel cannot exec without binfmt_misc.)
cargo test --profile ci --locked --target aarch64-unknown-linux-gnu --lib --test mvs_oracle --test bad_input -- --skip cli_

# ---------------------------------------------------------------------------------------
section "8/8 build for armv7; its parses and features equal the host's"
cargo build --release --locked --target armv7-unknown-linux-gnueabihf
# 32-bit targets take other code paths (the CABAC engine's register is 32 bits wide there):
# every picture's parse digest under qemu-arm must equal the host binary's.
ARMV7_BIN=target/armv7-unknown-linux-gnueabihf/release/gopwatch
for s in main_cabac_nob high_b3_pyrnormal high_direct_temporal high_cqm main_cabac_ir_k10 high_cavlc_b3_temporal base_slices4; do
    host=$(target/ci/gopwatch scan --digest "$STREAMS/$s.264" | grep '^picture')
    arm=$(qemu-arm -L /usr/arm-linux-gnueabihf "$ARMV7_BIN" scan --digest "$STREAMS/$s.264" | grep '^picture')
    [[ -n $host && $host == "$arm" ]] || die "armv7 parse of $s.264 differs from the host's (scan --digest)"
    echo "armv7 = host: $s.264 ($(wc -l <<<"$host") pictures)"
done
# The features the networks see must not depend on the machine that computed them
# (training data on a PC, inference on the board): extract's files are byte-identical.
for size in native 112; do
    rm -rf "target/tmp/extract_host_$size" "target/tmp/extract_armv7_$size"
    target/ci/gopwatch extract --list "$SYNTH/CLIPS.csv" --out "target/tmp/extract_host_$size" --size $size 2>/dev/null
    qemu-arm -L /usr/arm-linux-gnueabihf "$ARMV7_BIN" extract --list "$SYNTH/CLIPS.csv" --out "target/tmp/extract_armv7_$size" --size $size 2>/dev/null
    diff -r "target/tmp/extract_host_$size" "target/tmp/extract_armv7_$size" >/dev/null ||
        die "armv7 extract --size $size differs from the host's"
    echo "armv7 = host: extract --size $size of $(ls "target/tmp/extract_host_$size"/*.npz | wc -l) synthetic clips"
done
