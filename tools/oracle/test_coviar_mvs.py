"""Tests of the accumulation core of coviar_mvs.py (numpy only, no video).

Run from the repository root (.venv is the one tools/test.sh makes):
    .venv/bin/python -m unittest tools/oracle/test_coviar_mvs.py

Hand-made vector lists check the definition's cases one by one; random vector sets check
the vectorised p_frame_update against a per-pixel loop written straight from the
definition (coviar_mvs.py's docstring).
"""

from __future__ import annotations

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coviar_mvs as cm  # noqa: E402


def vecs(*rows):
    """Rows (src_x, src_y, dst_x, dst_y, w, h, source) -> the seven columns."""
    if not rows:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(7))
    a = np.asarray(rows, dtype=np.int64)
    return tuple(a[:, i] for i in range(7))


def c_div(a: int, b: int) -> int:
    """C integer division (truncation toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def slow_update(trace, src_x, src_y, dst_x, dst_y, w, h, source):
    """The definition, pixel by pixel, with plain Python loops."""
    height, width = trace.shape[0], trace.shape[1]
    new = trace.copy()
    mv = np.zeros((2, height, width), dtype=np.int32)
    for i in range(len(src_x)):
        if int(source[i]) != -1:
            continue
        vx = int(dst_x[i]) - int(src_x[i])
        vy = int(dst_y[i]) - int(src_y[i])
        if vx == 0 and vy == 0:
            continue
        bw, bh = int(w[i]), int(h[i])
        x = c_div(-bw, 2)
        while x < c_div(bw, 2):
            y = c_div(-bh, 2)
            while y < c_div(bh, 2):
                px, py = int(dst_x[i]) + x, int(dst_y[i]) + y
                qx, qy = int(src_x[i]) + x, int(src_y[i]) + y
                if 0 <= px < width and 0 <= py < height and 0 <= qx < width and 0 <= qy < height:
                    new[py, px] = trace[qy, qx]
                    mv[0, py, px] = vx
                    mv[1, py, px] = vy
                y += 1
            x += 1
    return new, mv


def slow_acc(trace):
    height, width = trace.shape[0], trace.shape[1]
    acc = np.zeros((2, height, width), dtype=np.int32)
    for y in range(height):
        for x in range(width):
            acc[0, y, x] = x - trace[y, x, 0]
            acc[1, y, x] = y - trace[y, x, 1]
    return acc


def random_vectors(rng, width, height, count, max_mv):
    """Vectors on and off the macroblock grid, some zero, some list 1. Block sizes are
    mostly 16/8 as ffmpeg exports them; 7 and 1 pin the C division of odd sizes."""
    w = rng.choice([8, 16, 16, 8, 7, 1], size=count)
    h = rng.choice([8, 16, 16, 8, 7, 1], size=count)
    dst_x = rng.integers(-8, width + 8, size=count)
    dst_y = rng.integers(-8, height + 8, size=count)
    vx = rng.integers(-max_mv, max_mv + 1, size=count)
    vy = rng.integers(-max_mv, max_mv + 1, size=count)
    zero = rng.random(count) < 0.1
    vx[zero] = 0
    vy[zero] = 0
    source = np.where(rng.random(count) < 0.2, 1, -1)
    return dst_x - vx, dst_y - vy, dst_x, dst_y, w, h, source


class IdentityTest(unittest.TestCase):
    def test_identity_and_zero_acc(self):
        t = cm.identity_trace(5, 3)
        self.assertEqual(t.shape, (3, 5, 2))
        self.assertEqual(t.dtype, np.int32)
        for y in range(3):
            for x in range(5):
                self.assertEqual(tuple(t[y, x]), (x, y))
        acc = cm.accumulated(t)
        self.assertEqual(acc.shape, (2, 3, 5))
        self.assertFalse(acc.any())

    def test_no_vectors(self):
        t = cm.identity_trace(32, 16)
        new, mv = cm.p_frame_update(t, *vecs())
        np.testing.assert_array_equal(new, t)
        self.assertFalse(mv.any())


class SingleBlockTest(unittest.TestCase):
    def test_block_moves(self):
        # 16x16 block centred on (24, 24) (covers [16, 32) x [16, 32)), moved by (+3, -2).
        W, H = 64, 48
        t = cm.identity_trace(W, H)
        new, mv = cm.p_frame_update(t, *vecs((21, 26, 24, 24, 16, 16, -1)))
        acc = cm.accumulated(new)
        inside = np.zeros((H, W), dtype=bool)
        inside[16:32, 16:32] = True
        np.testing.assert_array_equal(acc[0][inside], 3)
        np.testing.assert_array_equal(acc[1][inside], -2)
        self.assertFalse(acc[:, ~inside].any())
        np.testing.assert_array_equal(mv, acc)
        # The trace points at the source pixels.
        self.assertEqual(tuple(new[16, 16]), (13, 18))
        self.assertEqual(tuple(new[31, 31]), (28, 33))
        # The input trace is not modified.
        np.testing.assert_array_equal(t, cm.identity_trace(W, H))

    def test_zero_vector_ignored(self):
        t = cm.identity_trace(32, 32)
        new, mv = cm.p_frame_update(t, *vecs((8, 8, 8, 8, 16, 16, -1)))
        np.testing.assert_array_equal(new, t)
        self.assertFalse(mv.any())

    def test_list1_ignored(self):
        t = cm.identity_trace(32, 32)
        new, mv = cm.p_frame_update(t, *vecs((5, 8, 8, 8, 16, 16, 1)))
        np.testing.assert_array_equal(new, t)
        self.assertFalse(mv.any())

    def test_source_partly_outside(self):
        # Block [0, 16) x [0, 16) from (-4, +1): source x in [-4, 12), the 4 leftmost
        # columns of the block have their source outside and keep their trace.
        W, H = 32, 32
        t = cm.identity_trace(W, H)
        new, mv = cm.p_frame_update(t, *vecs((4, 9, 8, 8, 16, 16, -1)))
        acc = cm.accumulated(new)
        changed = np.zeros((H, W), dtype=bool)
        changed[0:16, 4:16] = True
        np.testing.assert_array_equal(acc[0][changed], 4)
        np.testing.assert_array_equal(acc[1][changed], -1)
        self.assertFalse(acc[:, ~changed].any())
        np.testing.assert_array_equal(mv, acc)

    def test_destination_partly_outside(self):
        # 16x16 block centred on (30, 30) in a 35x33 picture: destination rows/cols >= 33/35
        # and the source rows beyond 33 are dropped.
        W, H = 35, 33
        t = cm.identity_trace(W, H)
        new, mv = cm.p_frame_update(t, *vecs((28, 31, 30, 30, 16, 16, -1)))
        ref_new, ref_mv = slow_update(t, *vecs((28, 31, 30, 30, 16, 16, -1)))
        np.testing.assert_array_equal(new, ref_new)
        np.testing.assert_array_equal(mv, ref_mv)
        # dst rows 22..31 (src rows 23..32 inside), cols 22..34.
        self.assertTrue((mv[0, 22:32, 22:35] == 2).all())
        self.assertFalse(mv[:, 32, :].any())

    def test_source_entirely_outside(self):
        t = cm.identity_trace(32, 32)
        new, mv = cm.p_frame_update(t, *vecs((-20, 8, 8, 8, 16, 16, -1)))
        np.testing.assert_array_equal(new, t)
        self.assertFalse(mv.any())

    def test_reads_old_trace(self):
        # Two vectors in one frame: the second's source is the first's destination; it
        # must read the trace from before the frame (identity), not the first's result.
        t = cm.identity_trace(64, 32)
        v = vecs((0 + 8, 8, 16 + 8, 8, 16, 16, -1), (16 + 8, 8, 32 + 8, 8, 16, 16, -1))
        new, _ = cm.p_frame_update(t, *v)
        self.assertEqual(tuple(new[0, 32]), (16, 0))
        self.assertEqual(tuple(new[0, 16]), (0, 0))

    def test_later_vector_wins(self):
        t = cm.identity_trace(32, 32)
        v = vecs((9, 8, 8, 8, 16, 16, -1), (8, 10, 8, 8, 8, 8, -1))
        new, mv = cm.p_frame_update(t, *v)
        self.assertEqual((mv[0, 4, 4], mv[1, 4, 4]), (0, -2))
        self.assertEqual((mv[0, 0, 0], mv[1, 0, 0]), (-1, 0))
        ref = slow_update(t, *v)
        np.testing.assert_array_equal(new, ref[0])
        np.testing.assert_array_equal(mv, ref[1])


class ChainTest(unittest.TestCase):
    def test_two_p_frames_compose(self):
        # Frame 1: block [16, 32)^2 comes from +(3, -2) away; frame 2: block [32, 48)^2
        # comes from the frame-1 block shifted by (16, 16) -> accumulated (16+3, 16-2).
        W, H = 64, 64
        t0 = cm.identity_trace(W, H)
        t1, mv1 = cm.p_frame_update(t0, *vecs((21, 26, 24, 24, 16, 16, -1)))
        t2, mv2 = cm.p_frame_update(t1, *vecs((24, 24, 40, 40, 16, 16, -1)))
        acc2 = cm.accumulated(t2)
        np.testing.assert_array_equal(acc2[0, 32:48, 32:48], 19)
        np.testing.assert_array_equal(acc2[1, 32:48, 32:48], 14)
        np.testing.assert_array_equal(mv2[0, 32:48, 32:48], 16)
        np.testing.assert_array_equal(mv2[1, 32:48, 32:48], 16)
        # Elsewhere frame 1's motion stays in the accumulation (not reset by frame 2).
        np.testing.assert_array_equal(acc2[0, 16:32, 16:32], 3)
        self.assertEqual(tuple(t2[40, 40]), (21, 26))
        # The first P frame after the I: mv == mv_acc.
        np.testing.assert_array_equal(mv1, cm.accumulated(t1))


class OddSizeTest(unittest.TestCase):
    def test_odd_sizes(self):
        for W, H in ((17, 9), (35, 33), (1, 1), (9, 40)):
            with self.subTest(size=(W, H)):
                t = cm.identity_trace(W, H)
                v = vecs(
                    (W - 3, H - 2, W - 1, H - 1, 16, 16, -1),
                    (0, 0, 2, 1, 8, 8, -1),
                    (-5, 3, 4, 4, 8, 16, -1),
                )
                new, mv = cm.p_frame_update(t, *v)
                ref_new, ref_mv = slow_update(t, *v)
                np.testing.assert_array_equal(new, ref_new)
                np.testing.assert_array_equal(mv, ref_mv)
                np.testing.assert_array_equal(cm.accumulated(new), slow_acc(new))


class RandomTest(unittest.TestCase):
    def test_against_per_pixel_loop(self):
        for seed in range(8):
            rng = np.random.default_rng(seed)
            W = int(rng.integers(1, 70))
            H = int(rng.integers(1, 50))
            with self.subTest(seed=seed, size=(W, H)):
                trace = cm.identity_trace(W, H)
                ref = trace.copy()
                for _frame in range(3):
                    # Many vectors and large motion: overlapping sources and destinations.
                    v = random_vectors(rng, W, H, int(rng.integers(0, 40)), 20)
                    trace, mv = cm.p_frame_update(trace, *v)
                    ref, ref_mv = slow_update(ref, *v)
                    np.testing.assert_array_equal(trace, ref)
                    np.testing.assert_array_equal(mv, ref_mv)
                    np.testing.assert_array_equal(cm.accumulated(trace), slow_acc(ref))

    def test_grid_vectors(self):
        # Non-overlapping destinations on the macroblock grid, as ffmpeg exports them.
        for seed in range(4):
            rng = np.random.default_rng(100 + seed)
            W, H = 48 + int(rng.integers(0, 16)), 32 + int(rng.integers(0, 16))
            rows = []
            for my in range(0, H, 16):
                for mx in range(0, W, 16):
                    if rng.random() < 0.5:
                        vx, vy = rng.integers(-6, 7, size=2)
                        rows.append((mx + 8 - vx, my + 8 - vy, mx + 8, my + 8, 16, 16, -1))
                    else:
                        for sy in (0, 8):
                            for sx in (0, 8):
                                vx, vy = rng.integers(-6, 7, size=2)
                                cx, cy = mx + sx + 4, my + sy + 4
                                rows.append((cx - vx, cy - vy, cx, cy, 8, 8, -1))
            with self.subTest(seed=seed):
                t = cm.identity_trace(W, H)
                v = vecs(*rows)
                t1, mv1 = cm.p_frame_update(t, *v)
                r1, rmv1 = slow_update(t, *v)
                np.testing.assert_array_equal(t1, r1)
                np.testing.assert_array_equal(mv1, rmv1)
                np.testing.assert_array_equal(mv1, cm.accumulated(t1))
                t2, mv2 = cm.p_frame_update(t1, *v)
                r2, rmv2 = slow_update(r1, *v)
                np.testing.assert_array_equal(t2, r2)
                np.testing.assert_array_equal(mv2, rmv2)


class FramesTest(unittest.TestCase):
    def test_gop_of(self):
        self.assertEqual(cm.gop_of("PBIPPBIP"), [None, None, 2, 2, 2, 2, 6, 6])

    def test_parse_frames(self):
        self.assertEqual(cm.parse_frames("7,3,3,12"), [3, 7, 12])
        with self.assertRaises(cm.UsageError):
            cm.parse_frames("3,x")
        with self.assertRaises(cm.UsageError):
            cm.parse_frames(",")


if __name__ == "__main__":
    unittest.main()
