#!/usr/bin/env python3
"""PNG contact sheet of a synthetic set: one row per class, frames over time of one clip.

Frames are decoded from the .264 files by ffmpeg, so the sheet shows what the encoder made.

  python3 tools/synth/contact_sheet.py --data DIR --out sheet.png [--cols 6] [--pick N]
"""
import argparse
import csv
import os
import subprocess
import sys

import numpy as np

from synth import CLASSES

CELL_W, CELL_H, LABEL_W = 160, 120, 96
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def decode(path, w, h):
    """All frames of a .264 as (n, h, w, 3) uint8, scaled to w x h."""
    out = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", path,
                          "-vf", f"scale={w}:{h}:flags=area", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, h, w, 3)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="directory holding CLIPS.csv")
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("--cols", type=int, default=6, help="frames per row (default 6)")
    ap.add_argument("--pick", default="0",
                    help="use the N-th clip of each class (default 0: the first), or a "
                         "comma-separated N per class in CLASSES order")
    a = ap.parse_args(argv)
    try:
        pick = [int(v) for v in a.pick.split(",")]
    except ValueError:
        ap.error(f"--pick: expected N or N,N,... (got {a.pick!r})")
    if len(pick) not in (1, len(CLASSES)):
        ap.error(f"--pick: give one N or {len(CLASSES)} of them")
    pick = pick * len(CLASSES) if len(pick) == 1 else pick
    with open(os.path.join(a.data, "CLIPS.csv")) as f:
        rows = list(csv.DictReader(f))
    sheet = np.full((CELL_H * len(CLASSES), LABEL_W + CELL_W * a.cols, 3), 255, np.uint8)
    for ci, cls in enumerate(CLASSES):
        clips = [r["path"] for r in rows if r["label"] == cls]
        if not clips:
            sys.exit(f"contact_sheet: no clip of class {cls} in {a.data}/CLIPS.csv")
        fr = decode(os.path.join(a.data, clips[pick[ci] % len(clips)]), CELL_W, CELL_H)
        for k, j in enumerate(np.linspace(0, len(fr) - 1, a.cols).round().astype(int)):
            x = LABEL_W + k * CELL_W
            sheet[ci * CELL_H:(ci + 1) * CELL_H, x:x + CELL_W] = fr[j]
        sheet[ci * CELL_H, :] = 0
    labels = ",".join(f"drawtext=fontfile={FONT}:text='{c}':x=6:y={i * CELL_H + CELL_H // 2 - 8}:"
                      f"fontsize=15:fontcolor=black" for i, c in enumerate(CLASSES))
    labels += ",split[a][b];[a]palettegen=max_colors=256[p];[b][p]paletteuse=dither=none"  # < 500 KB
    h, w = sheet.shape[:2]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
                    "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", "pipe:0", "-vf", labels,
                    "-frames:v", "1", a.out],
                   input=sheet.tobytes(), check=True)


if __name__ == "__main__":
    main()
