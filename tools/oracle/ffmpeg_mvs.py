#!/usr/bin/env python3
"""Motion-vector oracle: ffmpeg's exported motion vectors of an H.264 stream, as CSV.

Usage:
    ffmpeg_mvs.py FILE [-o OUT.csv] [--frames OUT_TYPES.csv] [--format FMT]

Decodes FILE (H.264 Annex-B by default) with PyAV (the libav* bundled in the `av` wheel,
see tools/requirements-test.txt), one thread, with the codec option `flags2=+export_mvs`,
and reads the MOTION_VECTORS side data of every decoded frame.

Frames are numbered n = 0, 1, 2, ... in the order ffmpeg *outputs* them (display order,
after reordering), not in decoding order. ffmpeg does not output frames that precede the
first keyframe (no `+showall`), and it conceals lost/broken pictures instead of failing.

ffmpeg exports one vector per partition: 16x16, 16x8, 8x16, and for an 8x8 macroblock
partition (P_8x8 / B_8x8, whatever the sub-partitions) one 8x8 block carrying the vector of
its top-left 4x4 block. Intra macroblocks export nothing. The reference index is not
exported. A w x h block has its top-left corner at (dst_x - w/2, dst_y - h/2). Its vector
(motion_x, motion_y), in quarter pel (motion_scale == 4), is given here to every 8x8 cell
it covers. `source` -1 is list 0, +1 is list 1.

Output (-o, default stdout), header `frame,type,list,x,y,mv_x,mv_y`, one row per
(8x8 cell, list), sorted by frame, list, y, x. x, y are the luma coordinates of the cell's
top-left corner, over the *coded* picture (whole macroblocks: cells right of / below the
cropping window are included). type is I/P/B (or S/SI/SP/BI/NONE) from frame.pict_type.
Frames without vectors give no rows.

--frames OUT_TYPES.csv writes `frame,type` for every output frame.

Exit codes: 0 ok, 2 the file cannot be opened / has no video stream / the decoder cannot
be set up, 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import os
import sys

try:
    import numpy as np
    import av
    import av.error
    from av.sidedata.sidedata import Type as SideDataType
except ImportError as e:  # pragma: no cover - depends on the environment
    sys.stderr.write(
        f"ffmpeg_mvs.py: cannot import PyAV/numpy ({e}); "
        "install them with: pip install -r tools/requirements-test.txt\n"
    )
    sys.exit(2)

HEADER = "frame,type,list,x,y,mv_x,mv_y\n"
CELL = 8

PICT_TYPES = {0: "NONE", 1: "I", 2: "P", 3: "B", 4: "S", 5: "SI", 6: "SP", 7: "BI"}


def die(msg: str, code: int = 2) -> None:
    sys.stderr.write(f"ffmpeg_mvs.py: {msg}\n")
    sys.exit(code)


def warn(msg: str) -> None:
    sys.stderr.write(f"ffmpeg_mvs.py: warning: {msg}\n")


def pict_type_name(frame) -> str:
    t = frame.pict_type
    name = getattr(t, "name", None)
    if name is not None:
        return name
    return PICT_TYPES.get(int(t), str(int(t)))


def frame_cells(n: int, mvs: np.ndarray, warned: set) -> np.ndarray:
    """Expand the exported blocks of one frame to 8x8 cells.

    Returns an int64 array of shape (rows, 6): list, x, y, mv_x, mv_y (and frame n first).
    """
    if mvs.size == 0:
        return np.zeros((0, 6), dtype=np.int64)
    source = mvs["source"].astype(np.int64)
    w = mvs["w"].astype(np.int64)
    h = mvs["h"].astype(np.int64)
    dst_x = mvs["dst_x"].astype(np.int64)
    dst_y = mvs["dst_y"].astype(np.int64)
    mx = mvs["motion_x"].astype(np.int64)
    my = mvs["motion_y"].astype(np.int64)
    scale = mvs["motion_scale"].astype(np.int64)

    bad_src = (source != -1) & (source != 1)
    if bad_src.any():
        warn(f"frame {n}: {int(bad_src.sum())} vectors with source not in (-1, +1); skipped")
        keep = ~bad_src
        source, w, h, dst_x, dst_y, mx, my, scale = (
            a[keep] for a in (source, w, h, dst_x, dst_y, mx, my, scale)
        )

    if (scale != 4).any():
        if "scale" not in warned:
            warned.add("scale")
            warn(
                f"frame {n}: motion_scale {sorted(set(scale.tolist()))} != 4; "
                "converting to quarter pel as motion*4/motion_scale (rounded)"
            )
        zero = scale == 0
        if zero.any():
            warn(f"frame {n}: {int(zero.sum())} vectors with motion_scale 0; skipped")
            keep = ~zero
            source, w, h, dst_x, dst_y, mx, my, scale = (
                a[keep] for a in (source, w, h, dst_x, dst_y, mx, my, scale)
            )
        mx = np.rint(mx * 4.0 / scale).astype(np.int64)
        my = np.rint(my * 4.0 / scale).astype(np.int64)

    x0 = dst_x - w // 2
    y0 = dst_y - h // 2
    odd = (x0 % CELL != 0) | (y0 % CELL != 0) | (w % CELL != 0) | (h % CELL != 0)
    if odd.any() and "grid" not in warned:
        warned.add("grid")
        warn(
            f"frame {n}: blocks not on the 8x8 grid; a cell takes the vector of the "
            "block that holds its top-left corner"
        )

    # Cells whose top-left corner lies inside the block.
    cx0 = -(-x0 // CELL)  # ceil
    cy0 = -(-y0 // CELL)
    cx1 = -(-(x0 + w) // CELL)
    cy1 = -(-(y0 + h) // CELL)
    ncx = np.maximum(cx1 - cx0, 0)
    ncy = np.maximum(cy1 - cy0, 0)
    count = ncx * ncy
    total = int(count.sum())
    if total == 0:
        return np.zeros((0, 6), dtype=np.int64)

    blk = np.repeat(np.arange(count.size), count)
    start = np.cumsum(count) - count
    k = np.arange(total) - start[blk]
    cx = cx0[blk] + k % ncx[blk]
    cy = cy0[blk] + k // ncx[blk]

    out = np.empty((total, 6), dtype=np.int64)
    out[:, 0] = n
    out[:, 1] = (source[blk] > 0).astype(np.int64)
    out[:, 2] = cx * CELL
    out[:, 3] = cy * CELL
    out[:, 4] = mx[blk]
    out[:, 5] = my[blk]

    # The same (cell, list) must not be covered twice by ffmpeg's partitions.
    order = np.lexsort((out[:, 2], out[:, 3], out[:, 1]))
    out = out[order]
    key = out[:, 1:4]
    dup = np.all(key[1:] == key[:-1], axis=1)
    if dup.any():
        same = np.all(out[1:, 4:6][dup] == out[:-1, 4:6][dup], axis=1)
        if not same.all():
            warn(
                f"frame {n}: {int((~same).sum())} cells covered by blocks with different "
                "vectors; keeping the first"
            )
        out = out[np.concatenate(([True], ~dup))]
    return out


def decode(path: str, fmt: str | None):
    """Yields (n, type, frame) in output order."""
    try:
        container = av.open(path, mode="r", format=fmt or None)
    except (av.error.FFmpegError, OSError, ValueError) as e:
        die(f"cannot open {path!r}: {e}")
    if not container.streams.video:
        container.close()
        die(f"{path!r} has no video stream")
    stream = container.streams.video[0]
    try:
        cc = stream.codec_context
        cc.options = {"flags2": "+export_mvs"}
        stream.thread_type = "NONE"
        cc.thread_count = 1
    except (av.error.FFmpegError, ValueError, AttributeError) as e:
        container.close()
        die(f"cannot set up the decoder for {path!r}: {e}")

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
                yield n, pict_type_name(frame), frame
                n += 1
    except av.error.FFmpegError as e:
        if n == 0:
            die(f"cannot decode {path!r}: {e}")
        warn(f"decoding stopped after {n} frames: {e}")
    finally:
        container.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="ffmpeg's exported H.264 motion vectors per 8x8 cell, as CSV "
        "(header frame,type,list,x,y,mv_x,mv_y; quarter pel; frames in output order)."
    )
    ap.add_argument("file", help="H.264 Annex-B elementary stream")
    ap.add_argument("-o", "--output", help="CSV of motion vectors (default: stdout)")
    ap.add_argument("--frames", metavar="OUT_TYPES.csv", help="also write frame,type for every output frame")
    ap.add_argument(
        "--format",
        default="h264",
        help="demuxer (default h264 = raw Annex-B); '' to let ffmpeg probe the file",
    )
    args = ap.parse_args(argv)

    if not os.path.isfile(args.file):
        die(f"cannot open {args.file!r}: no such file")

    warned: set = set()
    chunks = []
    types = []
    vectors_seen = 0
    for n, ptype, frame in decode(args.file, args.format):
        types.append((n, ptype))
        sd = frame.side_data.get(SideDataType.MOTION_VECTORS)
        if sd is None or len(sd) == 0:
            continue
        mvs = sd.to_ndarray()
        vectors_seen += mvs.size
        cells = frame_cells(n, mvs, warned)
        if cells.size:
            chunks.append((ptype, cells))

    if not types:
        die(f"{args.file!r}: ffmpeg decoded no frame")
    if vectors_seen == 0 and any(t in ("P", "B") for _, t in types):
        warn("P/B frames but no motion vectors exported: is flags2=+export_mvs honoured?")

    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        out.write(HEADER)
        for ptype, cells in chunks:
            lines = [
                f"{r[0]},{ptype},{r[1]},{r[2]},{r[3]},{r[4]},{r[5]}\n" for r in cells.tolist()
            ]
            out.write("".join(lines))
    finally:
        if out is not sys.stdout:
            out.close()
        else:
            out.flush()

    if args.frames:
        with open(args.frames, "w", newline="") as f:
            f.write("frame,type\n")
            f.write("".join(f"{n},{t}\n" for n, t in types))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # e.g. `ffmpeg_mvs.py x.264 | head`: stop quietly (Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
