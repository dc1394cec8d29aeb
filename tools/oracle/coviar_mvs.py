#!/usr/bin/env python3
"""CoViAR oracle: accumulated motion vectors of an H.264 stream from ffmpeg's exported MVs.

Usage:
    coviar_mvs.py FILE -o OUT.npz [--frames 3,7,12] [--format FMT]

Decodes FILE (H.264 Annex-B by default) with PyAV (see tools/requirements-test.txt), one
thread, codec option `flags2=+export_mvs`, and reads the MOTION_VECTORS side data of every
decoded frame. Frames are numbered n = 0, 1, 2, ... in the order ffmpeg outputs them
(display order). W, H are frame.width, frame.height (the display size).

Definition (CoViAR, Wu et al., CVPR 2018, as its data loader computes it from ffmpeg's
AVMotionVector side data; B frames are left out of the chain):
  * a GOP starts at every frame of pict_type I; frames before the first I are ignored;
  * at the I frame the trace (int32 [H, W, 2], (x, y)) is the identity: trace[y, x] = (x, y);
  * every P frame of the GOP, in display order, updates the trace; B frames (and anything
    that is neither the GOP's I nor P) leave it alone. For a P frame, new = trace.copy();
    for every exported vector with source == -1 (list 0; +1 is ignored), in side-data
    order: vx = dst_x - src_x, vy = dst_y - src_y (the side data's fields as given, not
    recomputed from motion_x/y); zero vectors are skipped; for dx in [-(w/2), w/2),
    dy in [-(h/2), h/2) (C division, w and h the block size): p_dst = (dst_x+dx, dst_y+dy),
    p_src = (src_x+dx, src_y+dy); when both lie in [0,W) x [0,H), new[p_dst] = trace[p_src]
    (the old trace; a later vector overwrites an earlier one). Then trace = new;
  * mv_acc[0, y, x] = x - trace[y, x, 0], mv_acc[1, y, x] = y - trace[y, x, 1] after the
    P frame's update;
  * mv[:, y, x] = (vx, vy) of the (last) vector that wrote p_dst = (x, y) under the same
    conditions, 0 elsewhere.

Output OUT.npz (np.savez, uncompressed):
  frames  int64 [N]           display indices of the P frames written, ascending: every P
                              frame in a GOP, or only those of --frames (sorted,
                              duplicates dropped; each must be a P frame in a GOP)
  gop     int64 [N]           display index of the I frame starting each one's GOP
  mv_acc  int32 [N, 2, H, W]  accumulated motion vector (x, y)
  mv      int32 [N, 2, H, W]  the frame's own motion vector (x, y)
  width, height  int64 scalars
  types   str (0-d)           one letter per output frame: I P B S, and i p b ? for
                              SI SP BI NONE
A one-line summary (frames, P frames written, seconds) goes to stderr.

Exit codes: 0 ok; 2 unusable input (cannot be opened / no video stream / decoder cannot be
set up / nothing decoded / frame size changes / a --frames entry that is not a P frame in
a GOP / bad --frames syntax); 1 anything unexpected.

The core (`identity_trace`, `p_frame_update`, `accumulated`) needs numpy only; PyAV is
imported when a file is decoded. Tests: tools/oracle/test_coviar_mvs.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

try:
    import numpy as np
except ImportError as e:  # pragma: no cover - depends on the environment
    sys.stderr.write(
        f"coviar_mvs.py: cannot import numpy ({e}); "
        "install it with: pip install -r tools/requirements-test.txt\n"
    )
    sys.exit(2)

PROG = "coviar_mvs.py"

# pict_type -> one letter (PyAV 18 gives pict_type as a plain int, older ones as an enum).
PICT_TYPES = {0: "?", 1: "I", 2: "P", 3: "B", 4: "S", 5: "i", 6: "p", 7: "b"}
PICT_NAMES = {"NONE": "?", "I": "I", "P": "P", "B": "B", "S": "S", "SI": "i", "SP": "p", "BI": "b"}


class UsageError(Exception):
    """Unusable input: exit code 2."""


def die(msg: str, code: int = 2) -> None:
    sys.stderr.write(f"{PROG}: {msg}\n")
    sys.exit(code)


def warn(msg: str) -> None:
    sys.stderr.write(f"{PROG}: warning: {msg}\n")


# ---------------------------------------------------------------------------------------
# Core (numpy only)


def identity_trace(width: int, height: int) -> np.ndarray:
    """The trace at an I frame: int32 [H, W, 2] with trace[y, x] = (x, y)."""
    trace = np.empty((height, width, 2), dtype=np.int32)
    trace[:, :, 0] = np.arange(width, dtype=np.int32)[None, :]
    trace[:, :, 1] = np.arange(height, dtype=np.int32)[:, None]
    return trace


def p_frame_update(trace, src_x, src_y, dst_x, dst_y, w, h, source):
    """One P frame's update of the trace.

    trace: int32 [H, W, 2], not modified. The other arguments are 1-D integer arrays (or
    sequences) of equal length, one entry per exported vector, in side-data order.
    Returns (new_trace int32 [H, W, 2], mv int32 [2, H, W]).
    """
    height, width = trace.shape[0], trace.shape[1]
    new = trace.copy()
    mv = np.zeros((2, height, width), dtype=np.int32)
    cols = [np.asarray(a, dtype=np.int64).ravel() for a in (src_x, src_y, dst_x, dst_y, w, h, source)]
    n = cols[0].size
    if any(c.size != n for c in cols):
        raise ValueError("vector field arrays of different lengths")
    if n == 0:
        return new, mv
    sx, sy, dx_, dy_, bw, bh, src = cols
    vx = dx_ - sx
    vy = dy_ - sy
    keep = (src == -1) & ((vx != 0) | (vy != 0))
    # Offsets [-(w/2), w/2): ffmpeg's w, h are unsigned, where C's -w/2 == -(w // 2).
    if (bw < 0).any() or (bh < 0).any():
        raise ValueError("negative block size")
    hw = bw // 2
    hh = bh // 2
    # Rectangle intersection: dst_x + o in [0, W) and src_x + o in [0, W), o in [-hw, hw).
    ox0 = np.maximum(-hw, np.maximum(-dx_, -sx))
    ox1 = np.minimum(hw, np.minimum(width - dx_, width - sx))
    oy0 = np.maximum(-hh, np.maximum(-dy_, -sy))
    oy1 = np.minimum(hh, np.minimum(height - dy_, height - sy))
    keep &= (ox0 < ox1) & (oy0 < oy1)
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return new, mv
    rows = np.stack(
        (dx_ + ox0, dx_ + ox1, dy_ + oy0, dy_ + oy1, sx + ox0, sy + oy0, vx, vy), axis=1
    )[idx].tolist()
    mvx, mvy = mv[0], mv[1]
    for x0, x1, y0, y1, sx0, sy0, ax, ay in rows:
        # Reads come from the old trace, so later vectors see no earlier writes.
        new[y0:y1, x0:x1] = trace[sy0:sy0 + (y1 - y0), sx0:sx0 + (x1 - x0)]
        mvx[y0:y1, x0:x1] = ax
        mvy[y0:y1, x0:x1] = ay
    return new, mv


def accumulated(trace: np.ndarray) -> np.ndarray:
    """mv_acc int32 [2, H, W]: (x, y) minus the traced source position."""
    height, width = trace.shape[0], trace.shape[1]
    acc = np.empty((2, height, width), dtype=np.int32)
    np.subtract(np.arange(width, dtype=np.int32)[None, :], trace[:, :, 0], out=acc[0])
    np.subtract(np.arange(height, dtype=np.int32)[:, None], trace[:, :, 1], out=acc[1])
    return acc


# ---------------------------------------------------------------------------------------
# Decoding (PyAV)

FIELDS = ("src_x", "src_y", "dst_x", "dst_y", "w", "h", "source")


def pict_letter(frame) -> str:
    t = frame.pict_type
    name = getattr(t, "name", None)
    if name is not None:
        return PICT_NAMES.get(name, "?")
    return PICT_TYPES.get(int(t), "?")


def decode_vectors(path: str, fmt: str | None):
    """Decodes the whole file. Returns (types str, width, height, {n: vector columns}).

    Vectors are kept for P frames only (the only ones the chain reads), as a tuple of
    int64 arrays in FIELDS order.
    """
    try:
        import av
        import av.error
        from av.sidedata.sidedata import Type as SideDataType
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UsageError(
            f"cannot import PyAV ({e}); install it with: pip install -r tools/requirements-test.txt"
        )

    try:
        container = av.open(path, mode="r", format=fmt or None)
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise UsageError(f"cannot open {path!r}: {e}")
    try:
        if not container.streams.video:
            raise UsageError(f"{path!r} has no video stream")
        stream = container.streams.video[0]
        try:
            cc = stream.codec_context
            cc.options = {"flags2": "+export_mvs"}
            stream.thread_type = "NONE"
            cc.thread_count = 1
        except (av.error.FFmpegError, ValueError, AttributeError) as e:
            raise UsageError(f"cannot set up the decoder for {path!r}: {e}")

        types: list[str] = []
        vectors: dict[int, tuple] = {}
        size = None
        n = 0
        try:
            for packet in container.demux(stream):
                # The last packet (packet.size == 0) flushes the decoder.
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError as e:
                    warn(f"decode error at packet pts={packet.pts} (skipped): {e}")
                    continue
                for frame in frames:
                    if size is None:
                        size = (frame.width, frame.height)
                    elif size != (frame.width, frame.height):
                        raise UsageError(
                            f"{path!r}: frame {n} is {frame.width}x{frame.height}, "
                            f"frame 0 was {size[0]}x{size[1]}"
                        )
                    letter = pict_letter(frame)
                    types.append(letter)
                    if letter == "P":
                        sd = frame.side_data.get(SideDataType.MOTION_VECTORS)
                        if sd is None or len(sd) == 0:
                            cols = tuple(np.zeros(0, dtype=np.int64) for _ in FIELDS)
                        else:
                            a = sd.to_ndarray()
                            cols = tuple(a[f].astype(np.int64) for f in FIELDS)
                        vectors[n] = cols
                    n += 1
        except av.error.FFmpegError as e:
            if n == 0:
                raise UsageError(f"cannot decode {path!r}: {e}")
            warn(f"decoding stopped after {n} frames: {e}")
    finally:
        container.close()

    if n == 0:
        raise UsageError(f"{path!r}: ffmpeg decoded no frame")
    return "".join(types), size[0], size[1], vectors


def gop_of(types: str) -> list[int | None]:
    """For each frame, the display index of the I frame starting its GOP (None before the first I)."""
    out: list[int | None] = []
    cur = None
    for n, t in enumerate(types):
        if t == "I":
            cur = n
        out.append(cur)
    return out


def parse_frames(spec: str) -> list[int]:
    try:
        vals = [int(s) for s in spec.split(",") if s.strip() != ""]
    except ValueError:
        raise UsageError(f"--frames {spec!r}: expected a comma-separated list of frame indices")
    if not vals:
        raise UsageError(f"--frames {spec!r}: empty list")
    return sorted(set(vals))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="CoViAR accumulated motion vectors (and per-frame MVs) of the P frames "
        "of an H.264 stream, from ffmpeg's exported motion vectors, as .npz."
    )
    ap.add_argument("file", help="H.264 Annex-B elementary stream")
    ap.add_argument("-o", "--output", required=True, help="output .npz")
    ap.add_argument("--frames", metavar="LIST", help="comma-separated display indices of P frames to write")
    ap.add_argument(
        "--format",
        default="h264",
        help="demuxer (default h264 = raw Annex-B); '' to let ffmpeg probe the file",
    )
    args = ap.parse_args(argv)
    t0 = time.monotonic()

    try:
        if not os.path.isfile(args.file):
            raise UsageError(f"cannot open {args.file!r}: no such file")
        wanted = parse_frames(args.frames) if args.frames is not None else None
        types, width, height, vectors = decode_vectors(args.file, args.format)
        gops = gop_of(types)
        p_in_gop = [n for n, t in enumerate(types) if t == "P" and gops[n] is not None]
        if wanted is None:
            out_frames = p_in_gop
        else:
            ok = set(p_in_gop)
            bad = [n for n in wanted if n not in ok]
            if bad:
                def why(n: int) -> str:
                    if n < 0 or n >= len(types):
                        return f"{n} (out of range, {len(types)} frames)"
                    if types[n] != "P":
                        return f"{n} (type {types[n]})"
                    return f"{n} (P before the first I frame)"

                raise UsageError("--frames: not a P frame in a GOP: " + ", ".join(why(n) for n in bad))
            out_frames = wanted
    except UsageError as e:
        die(str(e))

    nout = len(out_frames)
    slot = {n: i for i, n in enumerate(out_frames)}
    mv_acc = np.zeros((nout, 2, height, width), dtype=np.int32)
    mv = np.zeros((nout, 2, height, width), dtype=np.int32)
    last = out_frames[-1] if out_frames else -1

    trace = None
    for n, t in enumerate(types):
        if n > last:
            break
        if t == "I":
            trace = identity_trace(width, height)
        elif t == "P" and trace is not None:
            trace, frame_mv = p_frame_update(trace, *vectors[n])
            i = slot.get(n)
            if i is not None:
                mv_acc[i] = accumulated(trace)
                mv[i] = frame_mv

    if not p_in_gop:
        warn("no P frame in a GOP: writing empty arrays")
    # Through a file object, so that np.savez does not append '.npz' to the name.
    with open(args.output, "wb") as f:
        np.savez(
            f,
            frames=np.asarray(out_frames, dtype=np.int64),
            gop=np.asarray([gops[n] for n in out_frames], dtype=np.int64),
            mv_acc=mv_acc,
            mv=mv,
            width=np.int64(width),
            height=np.int64(height),
            types=np.str_(types),
        )
    sys.stderr.write(
        f"{PROG}: {args.file}: {len(types)} frames ({width}x{height}), "
        f"{nout} P frames written, {time.monotonic() - t0:.2f} s\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
