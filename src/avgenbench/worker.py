"""Backends that run out of process: a worker in its own environment speaks JSON lines over stdin/stdout.

The paper tier's models pin mutually incompatible libraries, so each can live in its own virtual environment. The
evaluating process still decodes each video once: it hands the worker the decoded media as an .npz file.

Protocol (one JSON object per line):
  -> {"op": "hello"}                         <- {"name", "version", "tier"}
  -> {"op": "measure", "media": NPZ_PATH, "clip": {...}, "item": {...}, "annotation": {...}, "options": {...}}
  <- {"status", "raw", "evidence", "message"}
  -> {"op": "bye"}

A worker script is a few lines: build the backend, then `serve(backend)`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .annotations import PromptAnnotation
from .dimensions.base import Backend, ItemContext, Measurement, Status
from .media import Clip, FrameSpec, Frames, MediaNeeds
from .suite import FaceRange, PromptItem


def save_media(clip: Clip, needs: MediaNeeds, path: Path) -> list[dict[str, Any]]:
    """Write the frames and audio in `needs` to an .npz; returns the frame specs in file order."""
    arrays: dict[str, np.ndarray] = {}
    specs = []
    for i, spec in enumerate(needs.frames):
        frames = clip.frames_for(spec)
        arrays[f"frames{i}_times"] = frames.times
        arrays[f"frames{i}_images"] = frames.images
        specs.append({"fps": spec.fps, "max_side": spec.max_side, "gray": spec.gray})
    for rate in needs.audio_rates:
        if rate in clip.audio:
            arrays[f"audio{rate}"] = clip.audio[rate]
    np.savez(path, **arrays)  # type: ignore[arg-type]  # numpy's stub reads the first keyword as allow_pickle
    return specs


def load_media(path: str, summary: dict[str, Any], specs: list[dict[str, Any]]) -> Clip:
    clip = Clip(Path(summary.get("path") or path))
    for key in ("status", "message", "duration", "fps", "width", "height", "n_frames", "has_audio", "sha256"):
        if key in summary:
            setattr(clip, key, summary[key])
    clip.audio_native_rate = summary.get("audio_rate", 0)
    with np.load(path) as data:
        for i, raw in enumerate(specs):
            spec = FrameSpec(raw["fps"], raw["max_side"], raw["gray"])
            clip.frames[spec] = Frames(spec, data[f"frames{i}_times"], data[f"frames{i}_images"])
        for key in data.files:
            if key.startswith("audio"):
                clip.audio[int(key[5:])] = data[key]
    return clip


def _item_to_json(item: PromptItem) -> dict[str, Any]:
    return {"category": item.category, "index": item.index, "content": item.content, "prompt": item.prompt,
            "extra": item.extra, "expected_faces": item.expected_faces.model_dump() if item.expected_faces else None}


def _item_from_json(data: dict[str, Any]) -> PromptItem:
    faces = FaceRange.model_validate(data["expected_faces"]) if data.get("expected_faces") else None
    return PromptItem(data["category"], data["index"], data["content"], data["prompt"], data.get("extra") or {}, faces)


class SubprocessBackend(Backend):
    """A backend whose `measure` runs in a worker process started from `command` (an argument list, no shell)."""

    def __init__(self, command: list[str], name: str, version: str, tier: str, needs: MediaNeeds,
                 timeout: float = 600.0, env: dict[str, str] | None = None):
        self.command = list(command)
        self.name, self.version, self.tier = name, version, tier
        self._needs = needs
        self.timeout = timeout
        self.env = env
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def needs(self) -> MediaNeeds | None:
        return self._needs

    def unavailable_reason(self, options: Mapping[str, Any]) -> str | None:
        try:
            self._ensure_started()
        except (OSError, RuntimeError) as exc:
            return f"worker {self.command[0]} could not start: {exc}"
        return None

    def _ensure_started(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, bufsize=1,
                                      env={**os.environ, **(self.env or {})})
        hello = self._call({"op": "hello"})
        if hello.get("name") != self.name:
            raise RuntimeError(f"worker answered as {hello.get('name')!r}, expected {self.name!r}")
        return self._proc

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        stdout = proc.stdout
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        reply: list[str] = []
        reader = threading.Thread(target=lambda: reply.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.timeout)
        if reader.is_alive():
            proc.kill()
            raise RuntimeError(f"worker did not answer within {self.timeout:g} s")
        line = reply[0] if reply else ""
        if not line:
            stderr = proc.stderr.read()[-800:] if proc.stderr else ""
            raise RuntimeError(f"worker exited (code {proc.wait()}): {stderr.strip()}")
        return json.loads(line)

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        with self._lock, tempfile.TemporaryDirectory(prefix="avgen-worker-") as tmp:
            try:
                self._ensure_started()
                media = Path(tmp) / "media.npz"
                specs = save_media(clip, self._needs, media)
                reply = self._call({"op": "measure", "media": str(media), "frame_specs": specs,
                                    "clip": {**clip.summary(), "path": str(clip.path)},
                                    "item": _item_to_json(ctx.item), "annotation": ctx.annotation.model_dump(),
                                    "options": {k: v for k, v in ctx.options.items() if _is_json(v)}})
            except (OSError, RuntimeError, ValueError) as exc:
                return Measurement(Status.ERROR, message=f"out-of-process backend {self.name}: {exc}")
        return Measurement(reply["status"], reply.get("raw"), reply.get("evidence") or {}, reply.get("message", ""))

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None and self._proc.stdin is not None:
            with contextlib.suppress(OSError, RuntimeError):
                self._proc.stdin.write(json.dumps({"op": "bye"}) + "\n")
                self._proc.stdin.flush()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def serve(backend: Backend, stdin=None, stdout=None) -> None:
    """Worker side: answer requests until 'bye' or end of input. Anything the backend prints goes to stderr."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    for line in stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request.get("op")
        if op == "bye":
            break
        if op == "hello":
            reply: dict[str, Any] = {"name": backend.name, "version": backend.version, "tier": backend.tier}
        elif op == "measure":
            reply = _serve_measure(backend, request)
        else:
            reply = {"status": Status.ERROR, "message": f"unknown op {op!r}"}
        stdout.write(json.dumps(reply, default=str) + "\n")
        stdout.flush()


def _serve_measure(backend: Backend, request: dict[str, Any]) -> dict[str, Any]:
    try:
        clip = load_media(request["media"], request["clip"], request.get("frame_specs", []))
        ctx = ItemContext(_item_from_json(request["item"]), PromptAnnotation.model_validate(request["annotation"]),
                          backend.tier, request.get("options") or {})
        with contextlib.redirect_stdout(sys.stderr):
            # the evaluating process sees only the proxy: the worker takes the prompt-only decision here, once
            m = backend.applies(ctx) or backend.measure(clip, ctx)
        return {"status": m.status, "raw": m.raw, "evidence": m.evidence, "message": m.message}
    except Exception as exc:  # reported to the caller as a tool fault
        return {"status": Status.ERROR, "raw": None, "evidence": {}, "message": f"{type(exc).__name__}: {exc}"}
