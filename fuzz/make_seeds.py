#!/usr/bin/env python3
"""Regenerates fuzz/prefix/ and fuzz/seeds/ from real streams.

Usage (from the repository root):
    python3 fuzz/make_seeds.py [SHARED_DIR] [STREAMS_DIR]
SHARED_DIR defaults to ../shared, STREAMS_DIR to target/streams.
"""
import os
import re
import sys

shared = sys.argv[1] if len(sys.argv) > 1 else "../shared"
streams = sys.argv[2] if len(sys.argv) > 2 else "target/streams"
conf = os.path.join(shared, "streams", "openh264-res")
here = os.path.dirname(os.path.abspath(__file__))


def units(path):
    d = open(path, "rb").read()
    pos = [m.end() for m in re.finditer(b"\x00\x00\x01", d)]
    out = []
    for i, p in enumerate(pos):
        e = pos[i + 1] - 3 if i + 1 < len(pos) else len(d)
        u = d[p:e].rstrip(b"\x00")
        if u:
            out.append(u)
    return d, out


def unescape(b):
    out = bytearray()
    zeros = 0
    for x in b:
        if zeros >= 2 and x == 3:
            zeros = 0
            continue
        out.append(x)
        zeros = zeros + 1 if x == 0 else 0
    return bytes(out)


def annexb(us):
    return b"".join(b"\x00\x00\x00\x01" + u for u in us)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# Prefixes of the `slice` target, in selector order: SPS, PPS, then the reference
# pictures (the target uses them when the selector asks for it): the first picture's IDR
# slices, or for streams with B slices every slice before the first B slice.
PREFIXES = [
    ("ba_mw_d", os.path.join(conf, "BA_MW_D.264"), True),
    ("high_cavlc_8x8", os.path.join(streams, "high_cavlc_8x8.264"), True),
    ("mr2_tandberg_e", os.path.join(conf, "MR2_TANDBERG_E.264"), True),
    ("base_slices4", os.path.join(streams, "base_slices4.264"), True),
    ("cvpcmnl1_sva_c", os.path.join(conf, "CVPCMNL1_SVA_C.264"), False),  # IDR too big
    ("main_cavlc_b2", os.path.join(streams, "main_cavlc_b2.264"), True),
    ("high_cavlc_b3_temporal", os.path.join(streams, "high_cavlc_b3_temporal.264"), True),
    # CABAC.
    ("main_cabac_nob", os.path.join(streams, "main_cabac_nob.264"), True),
    ("high_b3_pyrnormal", os.path.join(streams, "high_b3_pyrnormal.264"), True),
    ("qcif_2p_i_allipcm", os.path.join(conf, "QCIF_2P_I_allIPCM.264"), True),  # I_PCM IDR, 38 KB
]


def slice_type(u):
    """slice_type % 5 of a slice NAL unit (0 P, 1 B, 2 I)."""
    b = unescape(u[1:])
    bits = "".join(f"{x:08b}" for x in b[:16])
    p = 0
    vals = []
    for _ in range(2):
        z = 0
        while bits[p] == "0":
            z += 1
            p += 1
        vals.append((1 << z) - 1 + int(bits[p + 1 : p + 1 + z] or "0", 2))
        p += 1 + z
    return vals[1] % 5

slice_seeds = []
for sel, (name, path, with_idr) in enumerate(PREFIXES):
    _, us = units(path)
    sps = next(u for u in us if u[0] & 31 == 7)
    pps = next(u for u in us if u[0] & 31 == 8)
    first_idr = next(i for i, u in enumerate(us) if u[0] & 31 == 5)
    idr = []
    i = first_idr
    has_b = any(u[0] & 31 == 1 and slice_type(u) == 1 for u in us)
    while i < len(us) and (us[i][0] & 31 == 5 or (has_b and not (us[i][0] & 31 == 1 and slice_type(us[i]) == 1))):
        if us[i][0] & 31 in (1, 5):
            idr.append(us[i])
        i += 1
    write(os.path.join(here, "prefix", name + ".ps"), annexb([sps, pps]))
    write(os.path.join(here, "prefix", name + ".idr"), annexb(idr if with_idr else []))
    # Slice seeds: a few small slices after the IDR (P / non-IDR I), and the IDR itself.
    slices = [u for u in us[i:] if u[0] & 31 in (1, 5)]
    if has_b:
        slices = [u for u in slices if slice_type(u) == 1]
    small = sorted(slices[:40], key=len)[:3]
    if not with_idr:
        # I_PCM slices are ~100 KB: keep the head of one (its first macroblocks parse,
        # then the slice is cut).
        small = [small[0][:4000]]
    for k, s in enumerate(small):
        slice_seeds.append((f"{name}_p{k}", bytes([sel | 0x10]) + s))
    if with_idr and len(idr[0]) < 8000:
        slice_seeds.append((f"{name}_idr", bytes([sel]) + idr[0]))
    elif with_idr:
        # Big (I_PCM) IDR slice: keep its head as a seed without the prefix pictures.
        slice_seeds.append((f"{name}_idr", bytes([sel]) + idr[0][:4000]))
for n, d in slice_seeds:
    write(os.path.join(here, "seeds", "slice", n), d)

# param_sets: [sps_len][SPS RBSP][PPS RBSP] from several streams.
PS_STREAMS = [
    os.path.join(conf, f)
    for f in ["BA_MW_D.264", "CVPCMNL1_SVA_C.264", "MR2_TANDBERG_E.264", "SVA_BA2_D.264",
              "test_scalinglist_jm.264", "CVFC1_Sony_C.jsv", "high_cqm.264", "high_cabac_8x8.264"]
] + [os.path.join(streams, f) for f in ["high_cavlc_8x8.264", "high_cavlc_cqm.264", "main_cabac_nob.264"]]
for path in PS_STREAMS:
    if not os.path.exists(path):
        continue
    _, us = units(path)
    sps = [unescape(u[1:]) for u in us if u[0] & 31 == 7]
    pps = [unescape(u[1:]) for u in us if u[0] & 31 == 8]
    base = os.path.splitext(os.path.basename(path))[0]
    for k, p in enumerate(pps[:2]):
        write(os.path.join(here, "seeds", "param_sets", f"{base}_{k}"), bytes([len(sps[0])]) + sps[0] + p)

# annexb: [n][n chunk sizes][stream head], a few KB of real streams.
for k, (path, head) in enumerate([
    (os.path.join(conf, "BA_MW_D.264"), 3000),
    (os.path.join(conf, "SVA_BA2_D.264"), 2500),
    (os.path.join(streams, "high_cavlc_8x8.264"), 4000),
    (os.path.join(conf, "CVFC1_Sony_C.jsv"), 2000),
]):
    d = open(path, "rb").read()[:head]
    sizes = [[1], [7, 3, 250], [2, 0, 5, 13], [64]][k]
    write(os.path.join(here, "seeds", "annexb", f"head{k}"), bytes([len(sizes)] + sizes) + d)
