#!/usr/bin/env python3
"""Picture oracle: ffmpeg's decoded I frames of an H.264 stream, as raw yuv420p.

Usage:
    ffmpeg_frames.py FILE -o OUT.yuv --index OUT.csv [--all] [--skip-loop-filter]
                     [--format FMT] [--rgb]

Decodes FILE (H.264 Annex-B by default) with PyAV (the libav* bundled in the `av` wheel,
see tools/requirements-test.txt), one thread, and writes the frames whose pict_type is I
(every frame with --all) in output (display) order: Y, Cb, Cr planes of each frame,
cropped to the display size (the SPS cropping, exactly: decoded with flags=+unaligned),
rows without padding.

--index OUT.csv gets one row per output frame: `frame,type,written,width,height,offset`,
where frame is ffmpeg's output index n = 0, 1, ... (the numbering of ffmpeg_mvs.py and of
gopwatch), written is 1 when the frame's planes are in OUT.yuv at byte `offset`, and
width x height the luma size. The chroma planes are ceil(w/2) x ceil(h/2).

--rgb writes each frame as rgb24 (R, G, B bytes per pixel, rows of width * 3) instead,
converted by ffmpeg's swscale (PyAV `to_ndarray(format="rgb24")`) with the colour matrix
and range that ffmpeg read from the stream's VUI (BT.601 limited range when unsignalled).

--skip-loop-filter decodes with skip_loop_filter=all: the pictures before deblocking,
to tell a prediction/residual error from a deblocking one.

Frames must be yuv420p or yuvj420p (8-bit 4:2:0): anything else is an error (exit 2), as is a file
that cannot be opened or has no video stream. Exit 1: anything unexpected.
"""

from __future__ import annotations

import argparse
import os
import sys

try:
    import av
    import av.error
except ImportError as e:  # pragma: no cover - depends on the environment
    sys.stderr.write(
        f"ffmpeg_frames.py: cannot import PyAV ({e}); "
        "install it with: pip install -r tools/requirements-test.txt\n"
    )
    sys.exit(2)


def die(msg: str, code: int = 2) -> None:
    sys.stderr.write(f"ffmpeg_frames.py: {msg}\n")
    sys.exit(code)


PICT_TYPES = {0: "NONE", 1: "I", 2: "P", 3: "B", 4: "S", 5: "SI", 6: "SP", 7: "BI"}


def pict_type_name(frame) -> str:
    t = frame.pict_type
    name = getattr(t, "name", None)
    return name if name is not None else PICT_TYPES.get(int(t), str(int(t)))


def plane_bytes(plane, width: int, height: int) -> bytes:
    """The visible rows of a plane without the line padding."""
    stride = plane.line_size
    buf = memoryview(plane)
    return b"".join(bytes(buf[y * stride : y * stride + width]) for y in range(height))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ffmpeg's decoded I frames (yuv420p, display order) of an H.264 stream.")
    ap.add_argument("file", help="H.264 Annex-B elementary stream")
    ap.add_argument("-o", "--output", required=True, help="raw yuv420p output")
    ap.add_argument("--index", required=True, help="CSV frame,type,written,width,height,offset")
    ap.add_argument("--all", action="store_true", help="write every frame, not only I frames")
    ap.add_argument("--skip-loop-filter", action="store_true", help="decode without the deblocking filter")
    ap.add_argument("--rgb", action="store_true", help="write rgb24 (ffmpeg's conversion) instead of yuv420p")
    ap.add_argument("--format", default="h264", help="demuxer (default h264 = raw Annex-B)")
    args = ap.parse_args(argv)

    if not os.path.isfile(args.file):
        die(f"cannot open {args.file!r}: no such file")
    try:
        container = av.open(args.file, mode="r", format=args.format or None)
    except (av.error.FFmpegError, OSError, ValueError) as e:
        die(f"cannot open {args.file!r}: {e}")
    if not container.streams.video:
        die(f"{args.file!r} has no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "NONE"
    stream.codec_context.thread_count = 1
    # AVCodecContext options (libavcodec/options_table.h), applied when the decoder opens.
    # flags=+unaligned: crop exactly as the SPS says; by default ffmpeg reduces a left crop
    # to a multiple of 32 luma samples (h264_ps.c, "Reducing left cropping").
    options = {"flags": "+unaligned"}
    if args.skip_loop_filter:
        options["skip_loop_filter"] = "all"
    stream.codec_context.options = options

    rows = []
    offset = 0
    n = 0
    with open(args.output, "wb") as out:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError as e:
                sys.stderr.write(f"ffmpeg_frames.py: warning: decode error (skipped): {e}\n")
                continue
            for frame in frames:
                t = pict_type_name(frame)
                w, h = frame.width, frame.height
                write = args.all or t == "I"
                if write:
                    # yuvj420p is ffmpeg's name for full-range yuv420p: the same planes.
                    if frame.format.name not in ("yuv420p", "yuvj420p"):
                        die(f"frame {n}: pixel format {frame.format.name}, expected yuv420p")
                    cw, ch = (w + 1) // 2, (h + 1) // 2
                    if args.rgb:
                        # swscale with the frame's own colorspace and color_range (as read
                        # from the VUI by the decoder).
                        data = frame.to_ndarray(format="rgb24").tobytes()
                        out.write(data)
                        rows.append(f"{n},{t},1,{w},{h},{offset}\n")
                        offset += len(data)
                        n += 1
                        continue
                    data = plane_bytes(frame.planes[0], w, h)
                    data += plane_bytes(frame.planes[1], cw, ch)
                    data += plane_bytes(frame.planes[2], cw, ch)
                    out.write(data)
                    rows.append(f"{n},{t},1,{w},{h},{offset}\n")
                    offset += len(data)
                else:
                    rows.append(f"{n},{t},0,{w},{h},0\n")
                n += 1
    container.close()
    with open(args.index, "w", newline="") as f:
        f.write("frame,type,written,width,height,offset\n")
        f.write("".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
