#!/usr/bin/env python3
"""Synthetic action dataset for gopwatch: articulated figures encoded as raw H.264.

Each clip is one 2D articulated figure (capsule limbs driven by per-action joint-angle
trajectories) in a scene (background, occluders, moving distractors), rendered with numpy
as yuv420p and piped into Debian's ffmpeg/libx264 with camera-like encoder settings.
Everything about a clip follows from (--seed, clip index); x264 runs with one thread and
bitexact flags, so the same command writes byte-identical files.

Layout of --out DIR:
  DIR/clips/NNNNN_LABEL.264   raw Annex-B H.264 (written as .part, renamed when complete)
  DIR/CLIPS.csv               header `path,label,split`, path relative to DIR
  DIR/params.jsonl            one JSON object per clip: every parameter that made it

Splits are by scene (background + occluders + distractor set + resolution + fps): every
clip of a scene lies in the same split, ~70/15/15 train/val/test by scene.
See tools/synth/README.md.
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time

import numpy as np

CLASSES = ["walk", "run", "fall", "wave", "jump", "sit_down", "crouch", "stand_still"]

# Split of scene s is SPLIT_PATTERN[s % 20]: 14 train, 3 val, 3 test, spread so that even
# the first few scenes (the tiny set) reach all three splits.
SPLIT_PATTERN = "tvttettttvtetttvtett"
SPLIT_NAMES = {"t": "train", "v": "val", "e": "test"}
assert (SPLIT_PATTERN.count("t"), SPLIT_PATTERN.count("v"), SPLIT_PATTERN.count("e")) == (14, 3, 3)

FULL_SIZES = [(320, 240), (352, 288), (480, 360), (640, 480)]
TINY_SIZES = [(160, 120), (320, 240)]
MARGIN = 4  # canvas border in pixels, cropped away; room for camera shake
G_BODY = 9.81 / 1.7  # gravity in body heights per s^2 (a 1.7 m person)


def split_of_scene(scene):
    return SPLIT_NAMES[SPLIT_PATTERN[scene % len(SPLIT_PATTERN)]]


def _rng(seed, kind, index):
    return np.random.default_rng([seed, kind, index])


def _col(rng, lo=0, hi=255):
    return [round(float(v), 1) for v in rng.uniform(lo, hi, 3)]


# --------------------------------------------------------------------------- parameters

def sample_scene(seed, scene, tiny):
    """Scene parameters (camera, background, occluders, distractors); JSON-serialisable."""
    r = _rng(seed, 1, scene)
    w, h = (TINY_SIZES if tiny else FULL_SIZES)[r.integers(len(TINY_SIZES if tiny else FULL_SIZES))]
    bg = {"kind": str(r.choice(["gradient", "noise", "tiles", "clutter"])),
          "c0": _col(r), "c1": _col(r), "angle": float(r.uniform(0, 2 * np.pi)),
          "cell": int(r.integers(6, 40)), "grain": float(r.uniform(3, 25)),
          "tile": str(r.choice(["checker", "stripes", "bricks"])),
          "clutter": [{"shape": str(r.choice(["rect", "ellipse"])),
                       "x": float(r.uniform(0, 1)), "y": float(r.uniform(0, 0.9)),
                       "w": float(r.uniform(0.04, 0.3)), "h": float(r.uniform(0.04, 0.4)),
                       "c": _col(r)} for _ in range(int(r.integers(3, 14)))]}
    ground = {"y": float(r.uniform(0.78, 0.97)), "c": _col(r, 40, 200),
              "horizon": float(r.uniform(0.35, 0.7)), "shade": float(r.uniform(0.6, 1.0))}
    occluders = []
    for _ in range(int(r.choice([0, 0, 1, 1, 2]))):
        kind = str(r.choice(["pillar", "box", "bush"]))
        occluders.append({"kind": kind, "x": float(r.uniform(0.1, 0.9)),
                          "w": float(r.uniform(0.05, 0.16)), "h": float(r.uniform(0.15, 0.45)),
                          "c": _col(r, 20, 230)})
    car = None
    if r.random() < 0.35:
        car = {"lane": float(r.uniform(0.55, 0.95)), "len": float(r.uniform(0.25, 0.5)),
               "c": _col(r), "front": bool(r.random() < 0.3)}
    branch = None
    if r.random() < 0.35:
        branch = {"side": int(r.choice([-1, 1])), "y": float(r.uniform(0.0, 0.4)),
                  "len": float(r.uniform(0.25, 0.6)), "segs": int(r.integers(3, 6)),
                  "width": float(r.uniform(0.01, 0.025)), "c": _col(r, 20, 110),
                  "leaf": _col(r, 30, 160)}
    return {"scene": int(scene), "split": split_of_scene(scene), "w": int(w), "h": int(h),
            "bg_seed": int(r.integers(1 << 31)),
            "fps": int(r.choice([25, 30])), "bg": bg, "ground": ground,
            "occluders": occluders, "car": car, "branch": branch}


def sample_encoder(r):
    cam = str(r.choice(["pi", "jetson", "baseline"]))
    if cam == "pi":
        prof, bf, cabac, keyint = str(r.choice(["high", "main"])), 0, 1, int(r.integers(12, 31))
    elif cam == "jetson":
        prof, bf, cabac, keyint = "high", 2, 1, int(r.choice([15, 24, 30]))
    else:
        prof, bf, cabac, keyint = "baseline", 0, 0, int(r.integers(12, 31))
    enc = {"camera": cam, "profile": prof, "bframes": bf, "cabac": cabac, "keyint": keyint,
           "preset": str(r.choice(["superfast", "veryfast"])),
           "ref": int(r.choice([1, 1, 2]))}
    if r.random() < 0.5:
        enc["crf"] = int(r.integers(21, 33))
    else:
        enc["bpp"] = round(float(r.uniform(0.04, 0.15)), 3)  # bits per pixel -> kbit/s
    return enc


def sample_body(r):
    """Proportions in body heights, limb width factors, clothes."""
    return {"torso": float(r.uniform(0.27, 0.33)), "head": float(r.uniform(0.055, 0.075)),
            "uarm": float(r.uniform(0.15, 0.19)), "farm": float(r.uniform(0.14, 0.18)),
            "thigh": float(r.uniform(0.22, 0.27)), "shin": float(r.uniform(0.22, 0.27)),
            "shoulder": float(r.uniform(0.08, 0.13)), "hip": float(r.uniform(0.05, 0.08)),
            "wf": float(r.uniform(0.75, 1.4)), "belly": float(r.uniform(0.9, 1.3)),
            "skin": _col(r, 60, 240), "shirt": _col(r), "trousers": _col(r),
            "shoes": _col(r, 0, 90), "sleeve": str(r.choice(["short", "long"])),
            "hair": _col(r, 0, 120) if r.random() < 0.7 else None}


def sample_clip(seed, idx, clips_per_scene, tiny):
    """All parameters of clip `idx`; depends only on (seed, idx, clips_per_scene, tiny)."""
    scene = idx // clips_per_scene
    sc = sample_scene(seed, scene, tiny)
    r = _rng(seed, 2, idx)
    label = CLASSES[idx % len(CLASSES)]
    dur = float(r.uniform(0.8, 1.2)) if tiny else float(r.uniform(2.0, 4.0))
    nframes = max(8, int(round(dur * sc["fps"])))
    body = sample_body(r)
    if label == "wave":
        yaw = float(r.uniform(0.5, 1.5))
    else:
        yaw = float(r.uniform(0.0, 1.2))
    motion = {"yaw": yaw, "facing": int(r.choice([-1, 1])),
              "scale": float(r.uniform(0.25, 0.7)),  # figure height / frame height
              "cx": float(r.uniform(0.2, 0.8)), "depth": float(r.uniform(0.0, 1.0)),
              "near_occluder": bool(sc["occluders"]) and r.random() < 0.6,
              "t0": float(r.uniform(0.1, 0.45)), "phase": float(r.uniform(0, 2 * np.pi)),
              "jitter_seed": int(r.integers(1 << 31))}
    if label in ("walk", "run"):
        motion["freq"] = float(r.uniform(0.75, 1.1) if label == "walk" else r.uniform(1.3, 1.7))
        motion["amp"] = float(r.uniform(0.38, 0.52) if label == "walk" else r.uniform(0.6, 0.8))
    elif label == "fall":
        motion["pre"] = str(r.choice(["stand", "walk"]))
        motion["freq"], motion["amp"] = float(r.uniform(0.75, 1.0)), float(r.uniform(0.35, 0.45))
        motion["fall_dur"] = float(r.uniform(0.45, 0.9))
        motion["fall_dir"] = int(r.choice([-1, 1]))
    elif label == "wave":
        motion["arms"] = int(r.choice([1, 1, 2]))
        motion["freq"] = float(r.uniform(1.2, 2.6))
        motion["amp"] = float(r.uniform(0.25, 0.5))
    elif label == "jump":
        motion["flight"] = float(r.uniform(0.35, 0.55))
        motion["advance"] = float(r.uniform(0.0, 0.3))
        motion["pause"] = float(r.uniform(0.1, 0.6))
        motion["t0"] = float(r.uniform(0.02, 0.3))
    elif label == "sit_down":
        motion["dur"] = float(r.uniform(0.8, 1.5))
        motion["seat"] = bool(r.random() < 0.6)
        motion["seat_c"] = _col(r, 30, 220)
    elif label == "crouch":
        motion["dur"] = float(r.uniform(0.5, 1.0))
        motion["knee"] = float(r.uniform(1.9, 2.4))
    if "dur" in motion or label == "fall":  # the transition ends before the clip does
        motion["t0"] = min(motion["t0"], 0.9 - motion.get("dur", motion.get("fall_dur", 0)) * sc["fps"] / nframes)
    bystander = None
    if r.random() < 0.25:  # a second, lower-priority person further away (see README)
        act = "stand_still" if label in ("walk", "stand_still") else str(r.choice(["walk", "stand_still"]))
        bystander = {"label": act, "body": sample_body(r), "far": float(r.uniform(0.4, 0.9)),
                     "cx": float(r.uniform(0.05, 0.95)),
                     "motion": {"yaw": float(r.uniform(0.0, 1.3)), "facing": int(r.choice([-1, 1])),
                                "phase": float(r.uniform(0, 2 * np.pi)),
                                "jitter_seed": int(r.integers(1 << 31)),
                                "freq": float(r.uniform(0.75, 1.1)),
                                "amp": float(r.uniform(0.35, 0.5))}}
    light = {"gain": float(r.uniform(0.75, 1.15)), "ramp": float(r.uniform(-0.25, 0.25)),
             "flicker": float(r.uniform(0.02, 0.08)) if r.random() < 0.2 else 0.0,
             "flicker_hz": float(r.uniform(1.5, 7.0)),
             "step": float(r.uniform(-0.25, 0.25)) if r.random() < 0.15 else 0.0,
             "step_t": float(r.uniform(0.2, 0.8))}
    cam = {"noise": float(r.uniform(0.0, 5.0)),
           "shake": int(r.choice([0, 0, 0, 1, 2, 3])),
           "car_t": float(r.uniform(-0.3, 0.8)), "car_speed": float(r.uniform(0.2, 0.6)),
           "car_dir": int(r.choice([-1, 1])),
           "branch_hz": float(r.uniform(0.3, 1.2)), "branch_amp": float(r.uniform(0.05, 0.25))}
    return {"idx": int(idx), "label": label, "split": sc["split"], "scene": sc,
            "path": f"clips/{idx:05d}_{label}.264", "fps": sc["fps"], "frames": nframes,
            "body": body, "motion": motion, "light": light, "cam": cam,
            "bystander": bystander,
            "enc": sample_encoder(r), "render_seed": int(r.integers(1 << 31))}


# --------------------------------------------------------------------------- poses

def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _lerp(a, b, s):
    return a + (b - a) * s


def poses(p, t):
    """Joint angles (radians, arrays over t in seconds) for the clip's action.

    Angles are measured from straight down, positive forward (sagittal plane); `ab*` are
    arm abductions (sideways raise, pi = straight up); knees and elbows are bend angles.
    `dx` is forward travel and `lift` height above ground, in body heights; `rot` topples
    the whole figure about its feet (screen plane).
    """
    m, label = p["motion"], p["label"]
    dur = p["frames"] / p["fps"]
    n = len(t)
    z = np.zeros(n)
    a = {k: z.copy() for k in ("lean", "hipL", "hipR", "kneeL", "kneeR", "shL", "shR",
                                "abL", "abR", "elL", "elR", "dx", "lift", "rot")}
    jr = np.random.default_rng(m["jitter_seed"])
    # Idle: breathing, sway, slight bends; the base of every action.
    for k, amp in (("lean", 0.03), ("hipL", 0.03), ("hipR", 0.03), ("shL", 0.06),
                   ("shR", 0.06), ("elL", 0.08), ("elR", 0.08)):
        f1, f2 = jr.uniform(0.15, 0.6, 2)
        ph = jr.uniform(0, 2 * np.pi, 2)
        a[k] += amp * (np.sin(2 * np.pi * f1 * t + ph[0]) + 0.5 * np.sin(2 * np.pi * f2 * t + ph[1]))
    a["kneeL"] += 0.08
    a["kneeR"] += 0.08
    a["elL"] += 0.2
    a["elR"] += 0.2
    a["abL"] += 0.08
    a["abR"] += 0.08

    def gait(freq, amp, run, weight=1.0):
        ph = 2 * np.pi * freq * t + m["phase"]
        for side, off in (("L", 0.0), ("R", np.pi)):
            q = ph + off
            a["hip" + side] += weight * (amp * np.sin(q) + (0.15 if run else 0.05))
            swing = np.maximum(0.0, np.cos(q)) ** 1.5
            a["knee" + side] += weight * ((1.9 if run else 0.9) * swing + (0.35 if run else 0.05))
            a["sh" + side] += weight * (-(0.9 if run else 0.7) * amp * np.sin(q))
            a["el" + side] += weight * ((1.3 if run else 0.15) + 0.2 * swing)
        a["lean"] += weight * (0.22 if run else 0.05)
        leg = p["body"]["thigh"] + p["body"]["shin"]
        speed = 4 * leg * np.sin(amp) * freq * (1.35 if run else 1.0)
        return speed

    if label in ("walk", "run"):
        speed = gait(m["freq"], m["amp"], label == "run")
        a["dx"] += speed * t
    elif label == "stand_still":
        pass
    elif label == "fall":
        tf = m["t0"] * dur
        pre = (t < tf).astype(float)
        if m["pre"] == "walk":
            speed = gait(m["freq"], m["amp"], False, pre)
            a["dx"] += speed * np.minimum(t, tf)
        s = np.clip((t - tf) / m["fall_dur"], 0, None)
        fallen = np.clip(s, 0, 1) ** 2  # accelerating topple
        settle = np.where(s > 1, 0.06 * np.exp(-4 * (s - 1)) * np.sin(9 * (s - 1)), 0.0)
        a["rot"] = m["fall_dir"] * (1.45 * fallen + settle)
        flail = _smooth(s * 2)
        for side, sgn in (("L", 1), ("R", -1)):
            a["sh" + side] += flail * (1.6 + 0.5 * sgn * np.sin(11 * t)) * (1 if m["fall_dir"] > 0 else -0.6)
            a["ab" + side] += flail * (0.6 + 0.3 * np.sin(7 * t + sgn))
            a["knee" + side] += flail * (0.5 + 0.3 * sgn)
            a["hip" + side] += flail * 0.3
    elif label == "wave":
        on = _smooth((t - m["t0"] * dur * 0.5) / 0.35)
        osc = m["amp"] * np.sin(2 * np.pi * m["freq"] * t + m["phase"])
        sides = ("R",) if m["arms"] == 1 else ("L", "R")
        for side in sides:
            a["ab" + side] += on * (2.5 + osc)
            a["sh" + side] += on * 0.2
            a["el" + side] += on * (0.35 + 0.6 * osc)
    elif label == "jump":
        tc = m["t0"] * dur
        prep, land, rec = 0.3, 0.22, 0.3
        g = G_BODY
        hmax = g * m["flight"] ** 2 / 8
        while tc < dur:
            tp, tl = tc + prep, tc + prep + m["flight"]
            c_in = _smooth((t - tc) / prep) * (t < tp)
            fl = ((t >= tp) & (t < tl))
            tau = np.clip((t - tp) / m["flight"], 0, 1)
            c_out = (t >= tl) * (1 - _smooth((t - tl - land * 0.3) / (land + rec)))
            crouch = np.maximum(c_in, c_out)
            for side in ("L", "R"):
                a["knee" + side] += crouch * 1.3 + fl * 0.35 * np.sin(np.pi * tau)
                a["hip" + side] += crouch * 0.75 + fl * 0.3 * np.sin(np.pi * tau)
                a["sh" + side] += c_in * -0.7 + fl * (2.6 * np.sin(np.pi * tau ** 0.6)) + c_out * 0.4
                a["ab" + side] += fl * 0.3 * np.sin(np.pi * tau)
            a["lean"] += crouch * 0.45
            a["lift"] += fl * 4 * hmax * tau * (1 - tau)
            a["dx"] += m["advance"] * np.where(t >= tl, 1.0, np.where(fl, tau, 0.0))
            tc = tl + land + rec + m["pause"]
    elif label == "sit_down":
        s = _smooth((t - m["t0"] * dur) / m["dur"])
        mid = np.sin(np.pi * s)
        for side in ("L", "R"):
            a["hip" + side] += 1.5 * s
            a["knee" + side] += 1.45 * s
            a["sh" + side] += 0.5 * mid + 0.35 * s
            a["el" + side] += 0.6 * s
        a["lean"] += 0.5 * mid + 0.12 * s
    elif label == "crouch":
        s = _smooth((t - m["t0"] * dur) / m["dur"])
        k = m["knee"]
        for side, sg in (("L", 1.0), ("R", 0.9)):
            a["knee" + side] += k * s * sg
            a["hip" + side] += (k - 0.4) * s * sg
            a["sh" + side] += 0.9 * s
            a["el" + side] += 0.6 * s
        a["lean"] += 0.65 * s
    else:
        raise ValueError(f"unknown label {label!r}")
    return a


def skeleton(b, ang, i):
    """3D joints (forward, lateral, up) in body heights, pelvis at origin, frame i.

    Returns segment list: (name, p0, p1, radius, colour_key)."""
    def v(theta, ab=0.0, side=0):
        return np.array([np.sin(theta) * np.cos(ab), side * np.sin(ab), -np.cos(theta) * np.cos(ab)])

    wf = b["wf"]
    lean = ang["lean"][i]
    up = np.array([np.sin(lean), 0.0, np.cos(lean)])
    neck = up * b["torso"]
    head = neck + up * (0.025 + b["head"])
    segs = [("torso", np.zeros(3) + up * 0.04, neck - up * 0.05, 0.065 * wf * b["belly"], "shirt"),
            ("head", head, head, b["head"], "skin")]
    if b["hair"] is not None:
        segs.append(("hair", head + up * b["head"] * 0.25 - np.array([0.01, 0, 0]),
                     head + up * b["head"] * 0.25 - np.array([0.01, 0, 0]), b["head"] * 0.9, "hair"))
    for side, sg in (("L", 1), ("R", -1)):
        sh = neck - up * 0.04 + np.array([0, sg * b["shoulder"], 0])
        el = sh + b["uarm"] * v(ang["sh" + side][i], ang["ab" + side][i], sg)
        ha = el + b["farm"] * v(ang["sh" + side][i] + ang["el" + side][i], ang["ab" + side][i], sg)
        hp = np.array([0, sg * b["hip"], 0])
        th = ang["hip" + side][i]
        kn = hp + b["thigh"] * v(th)
        shin_a = th - ang["knee" + side][i]
        an = kn + b["shin"] * v(shin_a)
        toe = an + 0.075 * np.array([np.cos(shin_a), 0, np.sin(shin_a)])
        fa = "shirt" if b["sleeve"] == "long" else "skin"
        segs += [("uarm" + side, sh, el, 0.028 * wf, "shirt"),
                 ("farm" + side, el, ha, 0.022 * wf, fa),
                 ("hand" + side, ha, ha, 0.026 * wf, "skin"),
                 ("thigh" + side, hp, kn, 0.042 * wf, "trousers"),
                 ("shin" + side, kn, an, 0.033 * wf, "trousers"),
                 ("foot" + side, an, toe, 0.022 * wf, "shoes")]
    return segs


# --------------------------------------------------------------------------- raster

def draw_figure(img, b, ang, i, px, ground, s, yaw, facing):
    """Draws frame i of a figure: skeleton -> screen with feet at (px, ground), s pixels per
    body height; feet on the ground unless jumping; toppled about the feet for falls."""
    cy_, sy_ = math.cos(yaw), math.sin(yaw)
    pts = []
    for name, p0, p1, rad, ck in skeleton(b, ang, i):
        q = [(facing * pp[0] * cy_ + pp[1] * sy_, -pp[2], pp[0] * sy_ - pp[1] * cy_ * facing)
             for pp in (p0, p1)]
        pts.append((name, q, rad, ck))
    low = max(max(q[0][1], q[1][1]) + rad for name, q, rad, ck in pts if name.startswith(("foot", "shin")))
    lift = float(ang["lift"][i])
    rot = float(ang["rot"][i])
    cr, sr = math.cos(rot), math.sin(rot)
    feet_x = np.mean([q[1][0] for name, q, rad, ck in pts if name.startswith("shin")])
    order = sorted(range(len(pts)), key=lambda k: -(pts[k][1][0][2] + pts[k][1][1][2]))
    for k in order:
        name, q, rad, ck = pts[k]
        xy = []
        for (qx, qy, _) in q:
            qx, qy = qx - feet_x, qy - low  # pivot at the feet on the ground
            rx, ry = qx * cr - qy * sr * facing, qx * sr * facing + qy * cr
            xy.append((px + rx * s, ground + (ry - lift - abs(sr) * rad) * s))
        col = b[ck]
        if (q[0][2] + q[1][2]) / 2 > 0.03:  # far-side limbs a little darker
            col = [c * 0.8 for c in col]
        draw_capsule(img, xy[0][0], xy[0][1], xy[1][0], xy[1][1], rad * s, col)


def draw_capsule(img, x0, y0, x1, y1, r, col, alpha=1.0):
    """Anti-aliased filled capsule (segment with radius r) blended into img (H,W,3 float)."""
    h, w = img.shape[:2]
    xa, xb = int(math.floor(min(x0, x1) - r - 1)), int(math.ceil(max(x0, x1) + r + 2))
    ya, yb = int(math.floor(min(y0, y1) - r - 1)), int(math.ceil(max(y0, y1) + r + 2))
    xa, ya, xb, yb = max(xa, 0), max(ya, 0), min(xb, w), min(yb, h)
    if xa >= xb or ya >= yb:
        return
    xs = np.arange(xa, xb, dtype=np.float32)[None, :] + 0.5 - x0
    ys = np.arange(ya, yb, dtype=np.float32)[:, None] + 0.5 - y0
    dx, dy = x1 - x0, y1 - y0
    ll = dx * dx + dy * dy
    if ll > 1e-9:
        tt = np.clip((xs * dx + ys * dy) / ll, 0.0, 1.0)
        ex, ey = xs - tt * dx, ys - tt * dy
    else:
        ex, ey = xs, ys
    cov = np.clip(r + 0.5 - np.sqrt(ex * ex + ey * ey), 0.0, 1.0) * alpha
    sub = img[ya:yb, xa:xb]
    sub += cov[..., None] * (np.asarray(col, np.float32) - sub)


def fill_rect(img, x0, y0, x1, y1, col):
    h, w = img.shape[:2]
    x0, y0 = max(int(round(x0)), 0), max(int(round(y0)), 0)
    x1, y1 = min(int(round(x1)), w), min(int(round(y1)), h)
    if x0 < x1 and y0 < y1:
        img[y0:y1, x0:x1] = col


def make_background(sc, W, H, rng):
    """Static background canvas (H, W, 3) float32 for a scene."""
    bg = sc["bg"]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    c0, c1 = np.array(bg["c0"], np.float32), np.array(bg["c1"], np.float32)
    u = (xx * math.cos(bg["angle"]) + yy * math.sin(bg["angle"]))
    u = (u - u.min()) / max(float(u.max() - u.min()), 1.0)
    img = c0 + u[..., None] * (c1 - c0)
    kind = bg["kind"]
    if kind == "noise":
        cell = bg["cell"]
        gh, gw = H // cell + 2, W // cell + 2
        coarse = rng.uniform(0, 1, (gh, gw)).astype(np.float32)
        # bilinear upsampling of a coarse random grid: smooth blotches
        fy, fx = yy / cell, xx / cell
        iy, ix = fy.astype(int), fx.astype(int)
        wy, wx = fy - iy, fx - ix
        blot = (coarse[iy, ix] * (1 - wx) * (1 - wy) + coarse[iy, ix + 1] * wx * (1 - wy)
                + coarse[iy + 1, ix] * (1 - wx) * wy + coarse[iy + 1, ix + 1] * wx * wy)
        img = c0 + blot[..., None] * (c1 - c0)
        img += rng.normal(0, bg["grain"], (H, W, 1)).astype(np.float32)
    elif kind == "tiles":
        cell = bg["cell"] + 4
        if bg["tile"] == "checker":
            m = ((xx // cell + yy // cell) % 2)
        elif bg["tile"] == "stripes":
            m = ((u * W) // cell % 2)
        else:
            row = yy // (cell // 2 + 2)
            m = (((xx + (row % 2) * cell // 2) % cell) < 2) | ((yy % (cell // 2 + 2)) < 2)
        m = m.astype(np.float32)[..., None]
        img = c0 * (1 - m) + c1 * m
    # Ground plane below the horizon, darker towards the top.
    g = sc["ground"]
    hy = int(g["horizon"] * H)
    gc = np.array(g["c"], np.float32)
    shade = np.linspace(g["shade"], 1.0, H - hy, dtype=np.float32)[:, None, None]
    img[hy:] = 0.55 * img[hy:] + 0.45 * gc * shade
    if kind == "clutter" or kind == "gradient":
        for c in bg["clutter"][: (None if kind == "clutter" else 3)]:
            cx, cy, cw, ch = c["x"] * W, c["y"] * H, c["w"] * W, c["h"] * H
            if c["shape"] == "rect":
                fill_rect(img, cx - cw / 2, cy - ch / 2, cx + cw / 2, cy + ch / 2, c["c"])
            else:
                m = (((xx - cx) / (cw / 2)) ** 2 + ((yy - cy) / (ch / 2)) ** 2) <= 1
                img[m] = c["c"]
    return np.clip(img, 0, 255).astype(np.float32)


_YUV = np.array([[0.256788, -0.148223, 0.439216],
                 [0.504129, -0.290993, -0.367788],
                 [0.097906, 0.439216, -0.071427]], np.float32)  # BT.601, limited range


def rgb_to_yuv420(img, gain=1.0):
    """(H, W, 3) RGB float, H and W even -> Y, Cb, Cr float planes (4:2:0), gain applied."""
    y = img @ (_YUV[:, 0] * np.float32(gain)) + np.float32(16)
    s = img[0::2, 0::2] + img[1::2, 0::2] + img[0::2, 1::2] + img[1::2, 1::2]
    c = s @ (_YUV[:, 1:] * np.float32(gain / 4)) + np.float32(128)
    return y, c[..., 0], c[..., 1]


def render_frames(p):
    """Yields yuv420p frames (bytes) of clip p."""
    sc, b, m, lt, cam = p["scene"], p["body"], p["motion"], p["light"], p["cam"]
    W, H, fps, n = sc["w"], sc["h"], p["fps"], p["frames"]
    CW, CH = W + 2 * MARGIN, H + 2 * MARGIN
    bg = make_background(sc, CW, CH, np.random.default_rng(sc["bg_seed"]))
    rng = np.random.default_rng(p["render_seed"])
    t = np.arange(n) / fps
    dur = n / fps
    ang = poses(p, t)

    # Screen placement: body height in pixels, ground line, horizontal path.
    ground = MARGIN + sc["ground"]["y"] * H
    bh = m["scale"] * H
    yaw, facing = m["yaw"], m["facing"]
    travel = float(ang["dx"][-1]) * bh * math.cos(yaw)
    if travel > 1.8 * W:  # walkers/runners stay on screen for most of the clip
        bh *= 1.8 * W / travel
        travel = 1.8 * W
    occ = sc["occluders"]
    cx = m["cx"] * W
    if m["near_occluder"] and occ:  # partly hidden: figure centre near an occluder's edge
        o = occ[0]
        edge = o["w"] * W * (0.5 if o["kind"] == "pillar" else 1.0)
        side = 1 if o["x"] < 0.5 else -1  # towards the frame centre
        cx = o["x"] * W + side * (edge + (0.02 + 0.12 * m["depth"]) * bh)
    else:  # not meant to hide: keep the path centre out of every occluder
        for o in occ:
            edge = o["w"] * W * (0.5 if o["kind"] == "pillar" else 1.0) + 0.08 * bh
            if abs(cx - o["x"] * W) < edge:
                cx = o["x"] * W + (edge if cx >= o["x"] * W else -edge)
    x_start = MARGIN + cx - facing * travel / 2
    # walking towards/away from the camera changes the size a little
    zoom = 1 + 0.25 * math.sin(yaw) * (m["depth"] - 0.5) * (ang["dx"] / max(float(ang["dx"][-1]), 1e-6))

    cy_ = math.cos(yaw)
    by = p["bystander"]
    if by is not None:  # further away: higher up towards the horizon, smaller
        bp = {"label": by["label"], "motion": by["motion"], "frames": n, "fps": fps, "body": by["body"]}
        b_ang = poses(bp, t)
        horizon = MARGIN + sc["ground"]["horizon"] * H
        b_ground = ground - by["far"] * (ground - horizon) * 0.6
        b_s = bh * (1 - 0.7 * by["far"])
        b_yaw, b_face = by["motion"]["yaw"], by["motion"]["facing"]
        b_x0 = MARGIN + by["cx"] * W - b_face * float(b_ang["dx"][-1]) * b_s * math.cos(b_yaw) / 2

    # Sensor noise bank: 4 fields x 4 flips, one picked per frame.
    nsig = cam["noise"]
    bank = [rng.standard_normal((H, W), dtype=np.float32) * nsig for _ in range(4)] if nsig > 0.3 else None
    shake = cam["shake"]
    sx = sy = 0
    for i in range(n):
        img = bg.copy()
        ti = t[i]
        # Car crossing (behind the figure unless 'front').
        car = sc["car"]
        car_draw = None
        if car is not None:
            L = car["len"] * W
            x = (cam["car_t"] + cam["car_speed"] * ti * 1.3) * (W + L)
            x = x if cam["car_dir"] > 0 else W - x
            cyl = MARGIN + car["lane"] * H
            ch = L * 0.38
            car_draw = (x + MARGIN - L / 2, cyl, L, ch, car["c"])
            if not car["front"]:
                _draw_car(img, *car_draw)
        if by is not None:
            draw_figure(img, by["body"], b_ang, i, b_x0 + b_face * float(b_ang["dx"][i]) * b_s * math.cos(b_yaw),
                        b_ground, b_s, b_yaw, b_face)
        # Seat for sit_down.
        zi = zoom[i]
        s = bh * zi
        px = x_start + facing * float(ang["dx"][i]) * bh * cy_
        if p["label"] == "sit_down" and m["seat"]:
            seat_h = (b["shin"] + 0.03) * s
            sw = 0.28 * s * (0.6 + 0.4 * cy_)
            off = -facing * 0.08 * s * cy_
            fill_rect(img, px + off - sw / 2, ground - seat_h, px + off + sw / 2, ground, m["seat_c"])
            fill_rect(img, px + off - facing * sw / 2 - 0.03 * s, ground - seat_h - 0.3 * s,
                      px + off - facing * sw / 2 + 0.03 * s, ground, m["seat_c"])
        draw_figure(img, b, ang, i, px, ground, s, yaw, facing)
        if car_draw is not None and car["front"]:
            _draw_car(img, *car_draw)
        # Occluders in front of everything on the ground.
        for o in occ:
            ox, ow = MARGIN + o["x"] * W, o["w"] * W
            if o["kind"] == "pillar":
                fill_rect(img, ox - ow / 2, 0, ox + ow / 2, CH, o["c"])
            elif o["kind"] == "box":
                fill_rect(img, ox - ow, ground - o["h"] * H, ox + ow, CH, o["c"])
            else:  # bush: a cluster of blobs
                for j in range(5):
                    draw_capsule(img, ox + (j - 2) * ow * 0.45, ground - o["h"] * H * (0.3 + 0.12 * (j % 2)),
                                 ox + (j - 2) * ow * 0.45, ground, ow * 0.45, o["c"])
        # Swaying branch (foreground).
        br = sc["branch"]
        if br is not None:
            x0 = MARGIN if br["side"] < 0 else CW - MARGIN
            y0 = MARGIN + br["y"] * H
            seg = br["len"] * W / br["segs"]
            base = 0.0 if br["side"] < 0 else math.pi
            sway = cam["branch_amp"] * math.sin(2 * math.pi * cam["branch_hz"] * ti)
            ang_b = base + 0.35 * (1 if br["side"] < 0 else -1)
            wdt = br["width"] * W
            for j in range(br["segs"]):
                ang_b += sway * (j + 1) * 0.5 * (1 if br["side"] < 0 else -1)
                x1, y1 = x0 + seg * math.cos(ang_b), y0 + seg * math.sin(ang_b)
                draw_capsule(img, x0, y0, x1, y1, wdt * (1 - 0.15 * j), br["c"])
                draw_capsule(img, x1, y1 + wdt * 2, x1, y1 + wdt * 2, wdt * 2.2, br["leaf"])
                x0, y0 = x1, y1
        # Camera shake: a bounded random walk of the crop window.
        if shake:
            sx = int(np.clip(sx + rng.integers(-1, 2), -shake, shake))
            sy = int(np.clip(sy + rng.integers(-1, 2), -shake, shake))
        frame = img[MARGIN + sy:MARGIN + sy + H, MARGIN + sx:MARGIN + sx + W]
        # Lighting: gain, ramp, flicker, a step (light switched).
        gain = lt["gain"] * (1 + lt["ramp"] * ti / dur + lt["flicker"] * math.sin(2 * math.pi * lt["flicker_hz"] * ti)
                             + (lt["step"] if ti >= lt["step_t"] * dur else 0.0))
        y, cb, cr_ = rgb_to_yuv420(frame, gain)
        if bank is not None:
            nz = bank[i % 4]
            f = (i // 4) % 4
            nz = nz[::(-1 if f & 1 else 1), ::(-1 if f & 2 else 1)]
            y = y + nz
            cb = cb + nz[::2, ::2] * 0.5
            cr_ = cr_ + nz[1::2, 1::2] * 0.5
        yield b"".join(np.clip(np.rint(c), 0, 255).astype(np.uint8).tobytes() for c in (y, cb, cr_))


def _draw_car(img, x, y, L, h, col):
    fill_rect(img, x, y - h * 0.55, x + L, y - h * 0.15, col)
    fill_rect(img, x + L * 0.2, y - h, x + L * 0.75, y - h * 0.5, [c * 0.7 for c in col])
    for wx in (x + L * 0.2, x + L * 0.8):
        draw_capsule(img, wx, y - h * 0.15, wx, y - h * 0.15, h * 0.17, (25, 25, 25))


# --------------------------------------------------------------------------- encoding

def ffmpeg_cmd(p, dst):
    sc, e = p["scene"], p["enc"]
    x264 = [f"keyint={e['keyint']}", f"min-keyint={e['keyint']}", "scenecut=0",
            f"bframes={e['bframes']}", f"cabac={e['cabac']}", f"ref={e['ref']}",
            "threads=1", "lookahead-threads=1", "sliced-threads=0"]
    if e["bframes"]:
        x264 += ["b-adapt=0", "b-pyramid=none"]
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{sc['w']}x{sc['h']}",
           "-r", str(p["fps"]), "-i", "pipe:0", "-an",
           "-c:v", "libx264", "-preset", e["preset"], "-profile:v", e["profile"],
           "-threads", "1", "-x264-params", ":".join(x264)]
    if "crf" in e:
        cmd += ["-crf", str(e["crf"])]
    else:
        kbps = max(50, int(e["bpp"] * sc["w"] * sc["h"] * p["fps"] / 1000))
        cmd += ["-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k"]
    cmd += ["-fflags", "+bitexact", "-flags", "+bitexact", "-f", "h264", dst]
    return cmd


def make_clip(p, out):
    """Renders and encodes one clip unless its file exists; returns (idx, seconds, skipped)."""
    dst = os.path.join(out, p["path"])
    if os.path.exists(dst):
        return p["idx"], 0.0, True
    t0 = time.monotonic()
    tmp = dst + ".part"
    with subprocess.Popen(ffmpeg_cmd(p, tmp), stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            for fr in render_frames(p):
                proc.stdin.write(fr)
            proc.stdin.close()
        except BrokenPipeError:  # ffmpeg died; its message follows
            pass
        except BaseException:
            proc.kill()
            raise
        err = proc.stderr.read().decode(errors="replace")
        rc = proc.wait()
    if rc != 0:
        raise RuntimeError(f"ffmpeg failed (exit {rc}) on clip {p['idx']} ({dst}): {err.strip()}")
    os.replace(tmp, dst)
    return p["idx"], time.monotonic() - t0, False


def _work(args):
    return make_clip(*args)


def generate(out, clips, seed, jobs=1, tiny=False, clips_per_scene=None, quiet=False):
    """Generates clips 0..clips-1 into out; writes CLIPS.csv and params.jsonl. Returns params."""
    if shutil.which("ffmpeg") is None:
        raise SystemExit("synth: ffmpeg not found on PATH (Debian: apt-get install ffmpeg)")
    encoders = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    if "libx264" not in encoders:
        raise SystemExit("synth: this ffmpeg has no libx264 encoder (Debian's ffmpeg has it)")
    cps = clips_per_scene or (2 if tiny else 6)
    os.makedirs(os.path.join(out, "clips"), exist_ok=True)
    params = [sample_clip(seed, i, cps, tiny) for i in range(clips)]
    t0 = time.monotonic()
    done = skipped = 0
    work = [(p, out) for p in params]
    pool = mp.Pool(jobs) if jobs > 1 else None
    it = pool.imap_unordered(_work, work) if pool else map(_work, work)
    ok = False
    try:
        for idx, secs, skip in it:
            done += 1
            skipped += skip
            if not quiet and (done % 25 == 0 or done == clips):
                el = time.monotonic() - t0
                rate = (done - skipped) / el if el > 0 else 0.0
                eta = (clips - done) / rate if rate > 0 else 0.0
                print(f"synth: {done}/{clips} clips ({skipped} existed), {el:.0f} s, "
                      f"{rate:.2f} clips/s, eta {eta:.0f} s", file=sys.stderr, flush=True)
        ok = True
    finally:
        if pool:  # on an error stop at once; a clip cut short stays a .part, redone next run
            pool.close() if ok else pool.terminate()
            pool.join()
    for name, text in (("params.jsonl", "".join(json.dumps(p, sort_keys=True) + "\n" for p in params)),
                       ("CLIPS.csv", "path,label,split\n" + "".join(
                           f"{p['path']},{p['label']},{p['split']}\n" for p in params))):
        tmp = os.path.join(out, name + ".part")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(out, name))
    return params


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Generate the synthetic action dataset: articulated figures doing "
                    f"{', '.join(CLASSES)} (label = clip index mod 8), encoded as raw H.264 "
                    "(.264, Annex B) with Pi-like, Jetson-like and Baseline x264 settings.",
        epilog="Writes OUT/clips/NNNNN_LABEL.264, OUT/CLIPS.csv (path,label,split; paths "
               "relative to OUT) and OUT/params.jsonl. Deterministic: the same --seed, "
               "--clips-per-scene and --tiny give byte-identical clips. Resumable: clips "
               "already present are skipped (files are renamed into place when complete).")
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--clips", type=int, help="number of clips (default 3000, --tiny: 16)")
    ap.add_argument("--seed", type=int, default=0, help="global seed (default 0)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    ap.add_argument("--tiny", action="store_true",
                    help="CI set: ~1 s clips at 160x120/320x240, 2 clips per scene")
    ap.add_argument("--clips-per-scene", type=int,
                    help="consecutive clips sharing one scene (default 6, --tiny: 2)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    a = ap.parse_args(argv)
    clips = a.clips if a.clips is not None else (16 if a.tiny else 3000)
    if clips < 1 or a.jobs < 1 or (a.clips_per_scene is not None and a.clips_per_scene < 1):
        ap.error("--clips, --jobs and --clips-per-scene must be >= 1")
    if a.seed < 0:
        ap.error("--seed must be >= 0")
    t0 = time.monotonic()
    try:
        generate(a.out, clips, a.seed, a.jobs, a.tiny, a.clips_per_scene, a.quiet)
    except (RuntimeError, OSError) as e:
        sys.exit(f"synth: {e}")
    if not a.quiet:
        print(f"synth: wrote {clips} clips to {a.out} in {time.monotonic() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
