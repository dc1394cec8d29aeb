#!/usr/bin/env python3
"""Reads every frame's motion vectors of FILE with motion-vector-extractor (the PyPI package
people use for this job today), without converting frames to images. Prints frames, vectors
and seconds. Usage: mvextractor_read.py FILE"""
import sys
import time

from mvextractor.videocap import VideoCap

cap = VideoCap()
start = time.perf_counter()
if not cap.open(sys.argv[1]):
    sys.exit(f"cannot open {sys.argv[1]}")
cap.set_decode_frames(False)
frames = vectors = 0
while True:
    ret, _frame, mvs, _ftype = cap.read()
    if not ret:
        break
    frames += 1
    vectors += len(mvs)
cap.release()
print(f"frames {frames} vectors {vectors} seconds {time.perf_counter() - start:.3f}")
