"""Text (lite): OCR on generated clips with known on-screen strings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avgenbench.annotations import PromptAnnotation
from avgenbench.dimensions import get_backend
from avgenbench.dimensions.base import ItemContext, Status
from avgenbench.dimensions.text import (DIMENSION, SEEN_CER, cer, join_lines, normalize_text, substring_distance)
from avgenbench.media import decode
from avgenbench.runner import Unit, run_unit
from avgenbench.suite import PromptItem
from avgenbench.synthetic.encode import write_clip
from avgenbench.synthetic.text_probes import GARBLE_EDITS, PROBE_STRINGS, text_probes
from avgenbench.synthetic.text_render import draw_text

ITEM = PromptItem("ads", 0, "probe", "a probe prompt")


@pytest.fixture(scope="module")
def backend():
    b = get_backend("text", "lite")
    assert b is not None and b.unavailable_reason({}) is None
    return b


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    return text_probes(tmp_path_factory.mktemp("text_probes"), width=640, height=360, seconds=4.0, fps=12)[0]


@pytest.fixture(scope="module")
def measured(probes, backend):
    ctx = ItemContext(ITEM, PromptAnnotation.model_validate(probes["annotation"]))
    paths = {"clean": probes["path"], **{p["name"]: p["path"] for p in probes["perturbations"]}}
    return {name: backend.measure(decode(path, DIMENSION.needs), ctx) for name, path in paths.items()}


def test_distance_and_cer():
    assert substring_distance("tea", "keepittea") == 0
    assert substring_distance("tea", "keepittxa") == 1
    assert substring_distance("abc", "") == 3
    assert normalize_text("Keep it  tea.") == "keepittea"
    assert cer("Keep it tea.", "KEEP IT TEA") == 0.0
    assert cer("Keep it tea.", "KEEP IT TXA") == pytest.approx(1 / 9)
    assert cer("Keep it tea.", "") == 1.0


def test_clean_text_scores_high(measured):
    m = measured["clean"]
    assert m.status == Status.OK and m.raw >= 95
    for r in m.evidence["required"]:
        assert r["seen"] and r["best_cer"] <= 0.05 and r["frames_present"] == r["frames_read"] == 4
        assert r["first_seen_s"] == 0 and r["last_seen_s"] == 3


def test_garbled_text_drops_in_proportion(measured, probes):
    scores = [measured[f"garble-{k}"].raw for k in GARBLE_EDITS]
    assert scores == sorted(scores, reverse=True) and scores[-1] < measured["clean"].raw
    garbled = {p["name"]: p for p in probes["perturbations"] if p["name"].startswith("garble")}
    for k, score in zip(GARBLE_EDITS, scores):
        truth = garbled[f"garble-{k}"]["expected_cer"]
        assert truth == [pytest.approx(k / len(normalize_text(s)), abs=1e-3) for s in PROBE_STRINGS]
        expected = 100 * np.mean([max(0.0, 1 - c / SEEN_CER) for c in truth])
        assert score == pytest.approx(expected, abs=8), (k, score, expected)
        measured_cer = [r["best_cer"] for r in measured[f"garble-{k}"].evidence["required"]]
        assert measured_cer == [pytest.approx(c, abs=0.06) for c in truth]


def test_missing_text_scores_zero(measured):
    m = measured["removed"]
    assert m.status == Status.OK and m.raw == 0.0
    assert all(not r["seen"] for r in m.evidence["required"])


def test_partial_and_flickering_text_score_lower(measured):
    clean, partial, flicker = measured["clean"].raw, measured["partial"].raw, measured["flicker"].raw
    assert partial < clean - 5
    assert flicker < clean
    r = measured["partial"].evidence["required"][0]
    assert r["frames_present"] == 1 and r["presence"] == 0.5
    assert measured["flicker"].evidence["required"][0]["stability"] < 1


def test_no_required_text_is_not_applicable(backend):
    # Decided from the prompt alone (the runner asks applies() before decoding, measure() only when it returns None).
    m = backend.applies(ItemContext(ITEM, PromptAnnotation()))
    assert m.status == Status.NOT_APPLICABLE and m.raw is None
    assert backend.applies(ItemContext(ITEM, PromptAnnotation(required_text=["OPEN"]))) is None


def test_other_text_is_reported(probes, backend):
    clip = decode(probes["path"], DIMENSION.needs)
    m = backend.measure(clip, ItemContext(ITEM, PromptAnnotation(required_text=["Try it free"])))
    others = [normalize_text(o["text"]) for o in m.evidence["other_text"]]
    assert normalize_text(PROBE_STRINGS[0]) in others


def test_clean_rendered_text_cer_under_five_percent(backend):
    texts = ["Book your family home now.", "UNBOXING 23RD FEBRUARY 2016", "Are you listening?", "Hands-Free Parking"]
    image = np.full((360, 640, 3), (25, 40, 70), np.uint8)
    for k, text in enumerate(texts):
        draw_text(image, text, 30, 30 + 80 * k, 30)
    lines = join_lines(backend.engine({}).read(image))
    rates = [cer(t, " ".join(line for line, _ in lines)) for t in texts]
    assert np.mean(rates) <= 0.05 and max(rates) <= 0.1, (rates, lines)


def test_string_split_over_boxes_and_lines_is_joined(backend, tmp_path):
    def frames():
        for _ in range(36):
            image = np.full((360, 640, 3), 30, np.uint8)
            draw_text(image, "BOOK", 40, 60, 36)
            draw_text(image, "NOW", 430, 60, 36)  # far apart: two OCR boxes on one line
            draw_text(image, "THE LAST DOOR", 120, 180, 34)  # a title wrapped over two lines
            draw_text(image, "IN HOLLOW STREET", 100, 240, 34)
            yield image
    clip = decode(write_clip(tmp_path / "split.mp4", frames(), fps=12), DIMENSION.needs)
    ann = PromptAnnotation(required_text=["Book now", "THE LAST DOOR IN HOLLOW STREET"])
    m = backend.measure(clip, ItemContext(ITEM, ann))
    assert m.raw >= 95 and [r["best_cer"] for r in m.evidence["required"]] == [0, 0]


def test_engine_never_downloads(monkeypatch):
    from rapidocr.utils.download_file import DownloadFile

    from avgenbench.dimensions.text import OcrEngine

    def refuse(*args, **kwargs):
        raise AssertionError("rapidocr tried to download a file")

    monkeypatch.setattr(DownloadFile, "run", refuse)
    image = np.full((120, 400, 3), 20, np.uint8)
    draw_text(image, "OFFLINE", 20, 30, 40)
    lines = join_lines(OcrEngine(threads=1).read(image))
    assert [normalize_text(text) for text, _ in lines] == ["offline"]


def test_runner_measures_text_from_one_decode(probes):
    unit = Unit(ITEM, probes["path"], ["text"], "lite", probes["annotation"])
    result = run_unit(unit)
    dim, backend_name, _, m, _, _ = result.measurements[0]
    assert (dim, backend_name, m.status) == ("text", "text-ocr", Status.OK) and m.raw >= 95
    assert result.decodes == 1


def test_ocr_models_come_from_the_wheel(backend):
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    engine = backend.engine({})
    assert (models / engine.models["det"]).is_file() and (models / engine.models["rec"]).is_file()


def test_small_text_still_found_with_the_smaller_detector_input(backend):
    """The detector sees 640 px (DETECT_SIDE) while recognition reads the 960 px frame: lines 10-11 px high at 960 px,
    on a grainy backdrop, are still found and read exactly."""
    rng = np.random.default_rng(3)
    texts = ["Book your family home now.", "UNBOXING 23RD FEBRUARY 2016", "Are you listening?", "Hands-Free Parking"]
    image = np.full((540, 960, 3), (25, 40, 70), np.float32)
    image += rng.normal(0, 3, image.shape[:2])[..., None]
    image = np.clip(image, 0, 255).astype(np.uint8)
    for k, text in enumerate(texts):
        draw_text(image, text, 30 + 200 * (k % 2), 30 + 120 * k, 10 + k % 2)
    lines = join_lines(backend.engine({}).read(image))
    rates = [cer(t, " ".join(line for line, _ in lines)) for t in texts]
    assert max(rates) <= 0.05, (rates, lines)


def test_reuse_rereads_a_changed_word_and_skips_grain_only_changes(backend):
    """A frame reuses the last reading only when no 8x8 block changed: a word swapped in place on a static backdrop is
    read again (a whole-frame mean difference would miss it), while fresh film grain alone does not cost a reading."""
    from avgenbench.dimensions.text import read_frames

    rng = np.random.default_rng(5)
    calls = []

    class Counting:
        def read(self, image):
            calls.append(1)
            return backend.engine({}).read(image)

    def frame(word):
        image = np.full((540, 960, 3), (30, 45, 80), np.float32)
        image += rng.normal(0, 3, image.shape[:2])[..., None]  # new grain every frame
        image = np.clip(image, 0, 255).astype(np.uint8)
        draw_text(image, word, 400, 250, 24)
        return image

    words = ["OPEN NOW"] * 3 + ["SOLD OUT"] * 3
    frames = read_frames(Counting(), np.arange(6.0), np.stack([frame(w) for w in words]))
    assert len(calls) == 2
    assert [cer(w, f["text"]) for w, f in zip(words, frames)] == [0.0] * 6


@pytest.mark.parametrize("shape", [(540, 960, 3), (37, 50, 3), (45, 61)])
def test_block_means_are_the_tile_means_of_the_grey_frame(shape):
    """The integer-summed tile means equal the plain definition (mean over channels, then over each 8x8 tile; a
    partial edge tile dropped) on colour and grey frames whose sides are not multiples of 8."""
    from avgenbench.dimensions.text import block_means

    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    grey = image.mean(axis=2) if image.ndim == 3 else image.astype(np.float64)
    h, w = shape[0] // 8, shape[1] // 8
    expected = np.array([[grey[8 * i:8 * i + 8, 8 * j:8 * j + 8].mean() for j in range(w)] for i in range(h)])
    got = block_means(image)
    assert got.shape == (h, w)
    assert np.abs(got - expected).max() < 1e-4
