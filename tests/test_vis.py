"""Vis lite: the score drops under each known degradation on several clean textured clips; evidence explains it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avgenbench.annotations import PromptAnnotation
from avgenbench.dimensions import vis
from avgenbench.dimensions.base import ItemContext, Status
from avgenbench.media import decode
from avgenbench.suite import PromptItem
from avgenbench.synthetic.av_probes import VIS_DEGRADATIONS, scene_frames, vis_clip, vis_probes

ITEM = PromptItem("ads", 0, "scene", "a slow pan over a scene")
# The measure each degradation must raise, seen in the evidence.
DRIVER = {"blur": "blur", "noise": "noise", "compression": "blocking", "flicker": "flicker", "freeze": "freeze"}
MARGIN = 0.1


def measure(path):
    return vis.VisSignalLite().measure(decode(path, vis.DIMENSION.needs), ItemContext(ITEM, PromptAnnotation()))


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    probes = vis_probes(tmp_path_factory.mktemp("vis_probes"))
    return [(p, measure(p["path"]), {q["name"]: measure(q["path"]) for q in p["perturbations"]}) for p in probes]


def test_probes_cover_three_textured_scenes(scored):
    assert len(scored) >= 3
    for _probe, clean, variants in scored:
        assert clean.status == Status.OK and 0.0 <= clean.raw <= 1.0
        assert set(variants) == set(VIS_DEGRADATIONS)
        assert clean.evidence["measures"]["noise"]["value"] < 1.5  # a clean clip is not mistaken for a noisy one


@pytest.mark.parametrize("kind", VIS_DEGRADATIONS)
def test_degradation_lowers_score(scored, kind):
    for probe, clean, variants in scored:
        bad = variants[kind]
        assert bad.status == Status.OK
        assert bad.raw < clean.raw - MARGIN, (probe["truth"]["scene"], kind, clean.raw, bad.raw)
        driver = DRIVER[kind]
        assert bad.evidence["measures"][driver]["value"] > clean.evidence["measures"][driver]["value"]
        assert bad.evidence["measures"][driver]["factor"] < 1.0


def test_blur_and_noise_severity_is_monotonic(tmp_path):
    frames = scene_frames("astronaut", duration=2.0)
    for kind in ("blur", "noise"):
        scores = [measure(vis_clip(tmp_path / "clean.mp4", frames)).raw]
        for strength in (0.5, 1.5):
            scores.append(measure(vis_clip(tmp_path / f"{kind}{strength}.mp4", frames, kind, strength=strength)).raw)
        assert scores[0] > scores[1] > scores[2], (kind, scores)


def test_overexposure_is_penalised(tmp_path):
    frames = scene_frames("coffee", duration=2.0)
    bright = [np.clip(f.astype(np.float32) * 2.2, 0, 255).astype(np.uint8) for f in frames]
    clean = measure(vis_clip(tmp_path / "clean.mp4", frames))
    blown = measure(vis_clip(tmp_path / "blown.mp4", bright))
    assert blown.evidence["measures"]["exposure"]["value"] > 0.2
    assert blown.raw < clean.raw - MARGIN


def test_letterbox_bars_are_not_clipping(tmp_path):
    frames = scene_frames("chelsea", duration=2.0)
    boxed = []
    for f in frames:
        g = f.copy()
        g[:40] = 0
        g[-40:] = 0
        boxed.append(g)
    m = measure(vis_clip(tmp_path / "boxed.mp4", boxed))
    assert m.evidence["measures"]["exposure"]["value"] < 0.05
    assert m.raw > 0.6


def test_evidence_explains_score(scored):
    _, clean, variants = scored[0]
    for m in [clean, *variants.values()]:
        json.dumps(m.evidence)
        factors = [entry["factor"] for entry in m.evidence["measures"].values()]
        assert np.prod(factors) == pytest.approx(m.raw, abs=2e-3)
        assert set(m.evidence["measures"]) == set(vis.RAMPS)
    assert variants["freeze"].evidence["worst"] == "freeze"
    assert variants["compression"].evidence["worst"] == "blocking"


def test_ramp_mapping():
    assert vis.ramp(0.0, 1.0, 2.0) == 0.0 and vis.ramp(1.5, 1.0, 2.0) == 0.5 and vis.ramp(9.0, 1.0, 2.0) == 1.0
    perfect = {"blur": 0.0, "noise": 0.0, "blocking": 0.0, "exposure": 0.0, "flicker": 0.0, "freeze": 0.0}
    assert vis.vis_score(perfect)[0] == 1.0
    worst = {"blur": 1.0, "noise": 50.0, "blocking": 5.0, "exposure": 1.0, "flicker": 50.0, "freeze": 1.0}
    assert 0.0 < vis.vis_score(worst)[0] < 0.01


def test_small_motion_is_not_frozen(tmp_path):
    """A still photograph where only a small square moves: little change per frame, but no frame is a duplicate."""
    scene = scene_frames("coffee", duration=0.1)[0]
    frames = []
    for i in range(48):
        frame = scene.copy()
        frame[100:124, 100 + 2 * i:124 + 2 * i] = 250
        frames.append(frame)
    m = measure(vis_clip(tmp_path / "small_motion.mp4", frames))
    assert m.evidence["measures"]["freeze"]["value"] < 0.05
    assert m.evidence["measures"]["freeze"]["factor"] == 1.0


@pytest.mark.parametrize("shape", [(270, 480), (7, 5), (1, 9)])
def test_median3_is_scipys_3x3_median(shape):
    """The fast median that Vis blurs with gives scipy.ndimage.median_filter(size=3)'s values exactly, edges included,
    also on a non-contiguous crop (what crop_bars returns)."""
    from scipy.ndimage import median_filter

    frame = np.random.default_rng(3).integers(0, 256, (shape[0] + 4, shape[1] + 6), dtype=np.uint8)
    crop = frame[2:2 + shape[0], 3:3 + shape[1]]
    assert np.array_equal(vis.median3(crop), median_filter(crop, size=3))


SHOT_SCENES = ("coffee", "chelsea", "astronaut", "texture")


def trailer_frames(static: bool, dip: bool) -> list[np.ndarray]:
    """Four different 1 s shots (a held frame, or a slow pan), joined by hard cuts or by a dip to black
    (a 40 % frame, a black frame, a 40 % frame of the next shot), as trailers cut."""
    frames: list[np.ndarray] = []
    for scene in SHOT_SCENES:
        shot = scene_frames(scene, duration=1.0)
        shot = [shot[0]] * len(shot) if static else shot
        if dip and frames:
            frames += [(frames[-1] * 0.4).astype(np.uint8), np.zeros_like(frames[-1]), (shot[0] * 0.4).astype(np.uint8)]
        frames += shot
    return frames


@pytest.mark.parametrize("static", [True, False])
@pytest.mark.parametrize("dip", [False, True])
def test_shot_cuts_are_not_flicker(tmp_path, static, dip):
    m = measure(vis_clip(tmp_path / "trailer.mp4", trailer_frames(static, dip)))
    assert m.evidence["measures"]["flicker"]["factor"] == 1.0, m.evidence["measures"]["flicker"]
    cuts = m.evidence["shot_cuts"]["times_s"]
    # Each of the three joins is found (a dip is a cut into and out of its black frame), within a frame or two.
    for join in (1.0, 2.0, 3.0):
        assert any(abs(t - (join + (0.1 * (join - 1) if dip else 0.0))) <= 0.15 for t in cuts), (join, cuts)
    assert len(cuts) == (6 if dip else 3)
    if not static:  # panning shots: nothing frozen either, and a good score (a dip used to cost 0.6 as "flicker")
        assert m.evidence["measures"]["freeze"]["factor"] == 1.0 and m.raw > 0.8


def test_flicker_inside_shots_is_still_flicker(tmp_path):
    from avgenbench.synthetic import perturb

    clean = vis_clip(tmp_path / "trailer.mp4", trailer_frames(static=False, dip=True))
    perturb.flicker(clean, tmp_path / "flicker.mp4")
    m = measure(tmp_path / "flicker.mp4")
    assert m.evidence["measures"]["flicker"]["factor"] < 0.6
    assert m.raw < measure(clean).raw - MARGIN


def test_flicker_and_motion_are_not_cuts():
    frames = np.stack(scene_frames("coffee", duration=2.0))[..., 0]
    bright = frames.astype(np.float32) * (1 + 0.35 * np.sign(np.sin(np.arange(len(frames)) * np.pi / 2)))[:, None, None]
    assert vis.shot_cuts(frames, 24) == []
    assert vis.shot_cuts(np.clip(bright, 0, 255).astype(np.uint8), 24) == []
    flash = frames.copy()
    flash[20] = 255  # one white frame, then the same shot: a flash, not two cuts
    assert vis.shot_cuts(flash, 24) == []


def test_real_clips_clean_beats_blurred_and_low_bitrate(realclips_dir, tmp_path):
    """Relative check on real T2AV clips: the clean clip scores higher than a sigma-3 blurred copy and a 60 kb/s copy."""
    from avgenbench.synthetic import perturb

    clips = sorted((realclips_dir / "videos" / "sound_effects").glob("*.mp4")) + \
        sorted((realclips_dir / "videos" / "music").glob("*.mp4"))[:2]
    pairs = []
    for k, path in enumerate(clips):
        clean = measure(path)
        assert clean.status == Status.OK
        perturb.blur(path, tmp_path / f"{k}_blur.mp4", sigma=3.0)
        perturb.recompress(path, tmp_path / f"{k}_low.mp4", bitrate=60_000)
        for kind in ("blur", "low"):
            pairs.append((path.stem, kind, clean.raw, measure(tmp_path / f"{k}_{kind}.mp4").raw))
    share = np.mean([clean > worse for _, _, clean, worse in pairs])
    assert share >= 0.8, pairs
