"""Tests of the synthetic dataset generator (fast: a tiny set, < 60 s).

  cd tools/synth && python3 -m unittest -v test_synth      (needs numpy and ffmpeg)
"""
import collections
import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402

PROFILE_NAMES = {"high": {"High"}, "main": {"Main"},
                 "baseline": {"Baseline", "Constrained Baseline"}}


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class TinySet(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "tiny")
        cls.params = synth.generate(cls.out, 16, seed=7, jobs=2, tiny=True, quiet=True)
        with open(os.path.join(cls.out, "CLIPS.csv"), newline="") as f:
            cls.rows = list(csv.reader(f))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_csv_format(self):
        self.assertEqual(self.rows[0], ["path", "label", "split"])
        self.assertEqual(len(self.rows), 17)
        for path, label, split in self.rows[1:]:
            self.assertFalse(os.path.isabs(path))
            self.assertTrue(os.path.isfile(os.path.join(self.out, path)), path)
            self.assertIn(label, synth.CLASSES)
            self.assertIn(split, ("train", "val", "test"))
        self.assertFalse([n for n in os.listdir(os.path.join(self.out, "clips")) if n.endswith(".part")])

    def test_params_jsonl_matches_csv(self):
        with open(os.path.join(self.out, "params.jsonl")) as f:
            ps = [json.loads(line) for line in f]
        self.assertEqual([[p["path"], p["label"], p["split"]] for p in ps], self.rows[1:])

    def test_every_class_and_split_present(self):
        self.assertEqual({r[1] for r in self.rows[1:]}, set(synth.CLASSES))
        self.assertEqual({r[2] for r in self.rows[1:]}, {"train", "val", "test"})

    def test_decodable_with_expected_frames_and_profile(self):
        for p in self.params:
            out = subprocess.run(
                ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                 "-show_entries", "stream=nb_read_frames,width,height,profile,has_b_frames",
                 "-of", "json", os.path.join(self.out, p["path"])],
                capture_output=True, text=True, check=True).stdout
            s = json.loads(out)["streams"][0]
            self.assertEqual(int(s["nb_read_frames"]), p["frames"], p["path"])
            self.assertEqual((s["width"], s["height"]), (p["scene"]["w"], p["scene"]["h"]))
            self.assertIn(s["profile"], PROFILE_NAMES[p["enc"]["profile"]], p["path"])
            self.assertEqual(s["has_b_frames"] > 0, p["enc"]["bframes"] > 0, p["path"])

    def test_resume_skips_complete_clips(self):
        before = {n: os.stat(os.path.join(self.out, "clips", n)).st_mtime_ns
                  for n in os.listdir(os.path.join(self.out, "clips"))}
        synth.generate(self.out, 16, seed=7, jobs=1, tiny=True, quiet=True)
        after = {n: os.stat(os.path.join(self.out, "clips", n)).st_mtime_ns
                 for n in os.listdir(os.path.join(self.out, "clips"))}
        self.assertEqual(before, after)


class Determinism(unittest.TestCase):
    def test_same_seed_same_bytes(self):
        with tempfile.TemporaryDirectory() as tmp:
            hashes = []
            for run, jobs in (("a", 1), ("b", 2)):
                out = os.path.join(tmp, run)
                synth.generate(out, 3, seed=11, jobs=jobs, tiny=True, quiet=True)
                hashes.append({n: sha(os.path.join(out, "clips", n))
                               for n in sorted(os.listdir(os.path.join(out, "clips")))}
                              | {n: sha(os.path.join(out, n)) for n in ("CLIPS.csv", "params.jsonl")})
            self.assertEqual(len(hashes[0]), 5)
            self.assertEqual(hashes[0], hashes[1])

    def test_other_seed_other_clip(self):
        a = synth.sample_clip(1, 5, 6, False)
        b = synth.sample_clip(2, 5, 6, False)
        self.assertNotEqual(a, b)
        self.assertEqual(a, synth.sample_clip(1, 5, 6, False))


class Splits(unittest.TestCase):
    def test_no_scene_in_two_splits(self):
        params = [synth.sample_clip(3, i, 6, False) for i in range(3000)]
        scenes = collections.defaultdict(set)
        for p in params:
            scenes[p["split"]].add(p["scene"]["scene"])
            # the scene's content is a function of its id: same background for each clip
            self.assertEqual(p["scene"], synth.sample_scene(3, p["scene"]["scene"], False))
        self.assertFalse(scenes["train"] & scenes["val"])
        self.assertFalse(scenes["train"] & scenes["test"])
        self.assertFalse(scenes["val"] & scenes["test"])
        n = collections.Counter(p["split"] for p in params)
        self.assertAlmostEqual(n["train"] / 3000, 0.70, delta=0.02)
        self.assertAlmostEqual(n["val"] / 3000, 0.15, delta=0.02)
        self.assertAlmostEqual(n["test"] / 3000, 0.15, delta=0.02)
        for split in ("train", "val", "test"):
            labels = collections.Counter(p["label"] for p in params if p["split"] == split)
            self.assertEqual(set(labels), set(synth.CLASSES), split)

    def test_encoder_variety(self):
        cams = collections.Counter(synth.sample_clip(0, i, 6, False)["enc"]["camera"] for i in range(300))
        self.assertEqual(set(cams), {"pi", "jetson", "baseline"})


class Params(unittest.TestCase):
    def test_transitions_end_inside_the_clip(self):
        for i in range(800):
            p = synth.sample_clip(5, i, 6, False)
            m, dur = p["motion"], p["frames"] / p["fps"]
            trans = m.get("dur", m.get("fall_dur")) if p["label"] in ("fall", "sit_down", "crouch") else None
            if trans is not None:
                self.assertLessEqual(m["t0"] * dur + trans, 0.9 * dur + 1e-9, p["idx"])

    def test_bystander_never_outranks_the_label(self):
        seen = 0
        for i in range(800):
            p = synth.sample_clip(5, i, 6, False)
            by = p["bystander"]
            if by is None:
                continue
            seen += 1
            self.assertIn(by["label"], ("walk", "stand_still"))
            if p["label"] in ("walk", "stand_still"):
                self.assertEqual(by["label"], "stand_still", p["idx"])
        self.assertGreater(seen, 100)


class Cli(unittest.TestCase):
    def test_help(self):
        out = subprocess.run([sys.executable, synth.__file__, "--help"],
                             capture_output=True, text=True, check=True).stdout
        self.assertIn("--clips", out)
        self.assertIn("CLIPS.csv", out)

    def test_bad_arguments_are_refused(self):
        r = subprocess.run([sys.executable, synth.__file__, "--out", "/nonexistent/x", "--clips", "0"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--clips", r.stderr)


if __name__ == "__main__":
    unittest.main()
