"""The paper tier's models, each in a virtual environment of its own: `avgenbench setup paper`.

The paper's models pin libraries that cannot share one environment (transformers of early 2024 for Q-Align, Synchformer's
and SyncNet's torch code, onnxruntime for InsightFace), so each model gets a virtual environment under
CACHE_ROOT/paper-envs/<model>/ with its pinned packages, its upstream repository at a pinned commit where it is not on
PyPI, and its weights under weights/ (copied from `--weights DIR`, or fetched once from their published address). A
stamp file (ready.json) records what was built from which spec and the weights' SHA-256, so `setup` is idempotent and
`doctor` can say what is ready, what is missing and which command fixes it.

The evaluating process decodes each video once and hands the model's worker its media over the out-of-process
protocol (worker.py); the worker runs `python -m avgenbench.paper_workers.<model>` inside the environment, which sees
this installation's avgenbench package (and nothing else of this installation) through a .pth file and a link; it
imports only light modules of it: the worker protocol needs numpy and pydantic, which every environment installs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .cachedir import cache_root

WORKER_REQUIREMENTS = ("numpy>=1.26", "pydantic>=2.5")  # what the worker protocol itself imports


@dataclass(frozen=True)
class WeightFile:
    """One weight file: where it goes under weights/, where it is published, and its SHA-256 when known (else the hash
    seen on the first fetch is recorded and later fetches must match it)."""

    name: str
    url: str
    sha256: str | None = None


@dataclass(frozen=True)
class Repo:
    url: str
    commit: str


@dataclass(frozen=True)
class ModelEnv:
    name: str
    dimension: str
    model: str  # what the paper calls it
    requirements: tuple[str, ...]
    weights: tuple[WeightFile, ...] = ()
    repo: Repo | None = None
    worker: str = ""  # module run inside the environment
    notes: str = ""
    # Installed after `requirements` without their declared dependencies (which `requirements` then lists), where a
    # declared one cannot be installed beside the pinned torch (torchaudio, torchvision).
    no_deps: tuple[str, ...] = ()

    def spec_hash(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True) + "|" + ",".join(WORKER_REQUIREMENTS)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


HF = "https://huggingface.co"
MODEL_ENVS: dict[str, ModelEnv] = {env.name: env for env in (
    ModelEnv("q-align", "vis", "Q-Align video quality (q-future/one-align)",
             ("torch==2.13.0", "transformers==4.36.2", "accelerate==0.25.0", "sentencepiece==0.1.99",
              "pillow>=10", "protobuf<5"),
             (WeightFile("one-align", f"{HF}/q-future/one-align"),),
             worker="avgenbench.paper_workers.q_align",
             notes="loaded with its own remote code (trust_remote_code); weights are the Hugging Face snapshot folder"),
    ModelEnv("audiobox-aesthetics", "aud", "Audiobox-Aesthetics PQ (facebook/audiobox-aesthetics)",
             ("torch==2.13.0", "numpy>=1.26", "safetensors>=0.5.3", "huggingface_hub>=0.26", "scipy>=1.11"),
             (WeightFile("checkpoint.pt", f"{HF}/facebook/audiobox-aesthetics/resolve/main/checkpoint.pt"),),
             worker="avgenbench.paper_workers.audiobox",
             notes="installed without torchaudio (no build for the pinned torch): the worker feeds 16 kHz audio itself",
             no_deps=("audiobox-aesthetics==0.0.4",)),
    ModelEnv("synchformer", "av", "Synchformer offset classes (checkpoint 24-01-04T16-39-21)",
             ("torch==2.14.1", "torchvision==0.29.1", "omegaconf==2.3.0", "einops>=0.7", "timm==0.9.12"),
             (WeightFile("24-01-04T16-39-21.pt",
                         "https://a3s.fi/swift/v1/AUTH_a235c0f452d648828f745589cde1219a/sync/sync_models/"
                         "24-01-04T16-39-21/24-01-04T16-39-21.pt"),
              WeightFile("cfg-24-01-04T16-39-21.yaml",
                         "https://a3s.fi/swift/v1/AUTH_a235c0f452d648828f745589cde1219a/sync/sync_models/"
                         "24-01-04T16-39-21/cfg-24-01-04T16-39-21.yaml")),
             Repo("https://github.com/v-iashin/Synchformer", "d21acafe4f8e4878ba4978b5e5f59f6ca3ac722b"),
             worker="avgenbench.paper_workers.synchformer",
             notes="repository-only upstream: the worker imports its model code from the pinned checkout"),
    ModelEnv("syncnet", "lip", "SyncNet v2 with the S3FD face detector",
             ("torch==2.13.0", "numpy>=1.24", "scipy>=1.11", "opencv-python-headless>=4.8,<5", "scenedetect>=0.6,<0.7",
              "python-speech-features>=0.6", "ffmpeg-python>=0.2", "imageio-ffmpeg>=0.5"),
             (WeightFile("syncnet_v2.model", "https://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model"),
              WeightFile("sfd_face.pth", "https://www.robots.ox.ac.uk/~vgg/software/lipsync/data/sfd_face.pth")),
             worker="avgenbench.paper_workers.syncnet",
             notes="installed without torchvision (the pipeline does not import it); ffmpeg from imageio-ffmpeg",
             no_deps=("syncnet-python==0.2.3",)),
    ModelEnv("videophy2", "lo_phy", "VideoPhy-2 auto-evaluator (videophy2_autoeval, physical-commonsense task)",
             ("torch==2.13.0", "transformers==4.36.2", "accelerate==0.25.0", "sentencepiece==0.1.99", "pillow>=10"),
             (WeightFile("videophy2_autoeval", f"{HF}/videophysics/videophy2_autoeval"),),
             Repo("https://github.com/Hritikbansal/videophy", "a4c9e355e3549c880b7b6833de23c1109446255a"),
             worker="avgenbench.paper_workers.videophy2",
             notes="repository-only upstream (its mPLUG-Owl code); weights are the Hugging Face snapshot folder"),
    ModelEnv("insightface", "face", "InsightFace buffalo_l (detection + ArcFace recognition)",
             ("insightface==0.7.3", "onnxruntime>=1.17", "opencv-python-headless>=4.8,<5"),
             (WeightFile("buffalo_l", "https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip"),),
             worker="avgenbench.paper_workers.insightface"),
    ModelEnv("faster-whisper", "speech", "faster-whisper large-v3 with its VAD",
             ("faster-whisper==1.2.1", "ctranslate2==4.8.5"),
             (WeightFile("faster-whisper-large-v3", f"{HF}/Systran/faster-whisper-large-v3"),),
             worker="avgenbench.paper_workers.whisper",
             notes="no torch: CTranslate2 runs the model and says whether a GPU is there; the VAD is the package's own "
                   "Silero model (onnxruntime); weights are the Hugging Face snapshot folder"),
)}


def envs_root() -> Path:
    return cache_root() / "paper-envs"


def env_dir(name: str) -> Path:
    return envs_root() / name


def env_python(name: str) -> Path:
    return env_dir(name) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def weights_dir(name: str) -> Path:
    return env_dir(name) / "weights"


@dataclass
class EnvState:
    name: str
    dimension: str
    ready: bool
    missing: list[str] = field(default_factory=list)  # what is not there, in words
    fix: str = ""

    def reason(self) -> str | None:
        return None if self.ready else f"{self.name}: " + "; ".join(self.missing)


def stamp(name: str) -> dict:
    """What the last successful setup of `name` recorded: its spec hash and its weights' SHA-256 ({} when none)."""
    return _stamp(name)


def _stamp(name: str) -> dict:
    try:
        return json.loads((env_dir(name) / "ready.json").read_text())
    except (OSError, ValueError):
        return {}


def state(name: str) -> EnvState:
    """Whether the model's environment and weights are set up, from its stamp and the files themselves."""
    spec = MODEL_ENVS[name]
    missing = []
    stamp = _stamp(name)
    if not env_python(name).exists():
        missing.append(f"no environment at {env_dir(name)}")
    elif stamp.get("spec") != spec.spec_hash():
        missing.append("its environment was built from another spec (avgenbench was updated)")
    recorded = stamp.get("weights", {})
    for weight in spec.weights:
        if not (weights_dir(name) / weight.name).exists():
            missing.append(f"weights {weight.name} not in {weights_dir(name)}")
        elif weight.name not in recorded:
            missing.append(f"weights {weight.name} not checked (setup stopped before recording its SHA-256)")
    fix = f"avgenbench setup paper --dimensions {spec.dimension} [--weights DIR]" if missing else ""
    return EnvState(name, spec.dimension, not missing, missing, fix)


def env_for_dimension(dim_id: str) -> ModelEnv | None:
    return next((env for env in MODEL_ENVS.values() if env.dimension == dim_id), None)


class SetupError(RuntimeError):
    """A step of `setup paper` failed; the message says which and how to fix it."""


def _run(command: list[str], log: Callable[[str], None]) -> None:
    log("$ " + " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-1500:]
        raise SetupError(f"`{' '.join(command[:4])} ...` failed (exit {done.returncode}):\n{tail}")


def _link_package(name: str) -> Path:
    """A folder holding only a link to this installation's `avgenbench` package, for the environment's path: the
    package's own parent may be a whole site-packages whose libraries must not leak into the model's environment."""
    folder = env_dir(name) / "avgenbench-path"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "avgenbench"
    if link.is_symlink() or link.exists():
        link.unlink() if link.is_symlink() else shutil.rmtree(link)
    package = Path(__file__).resolve().parent
    try:
        link.symlink_to(package, target_is_directory=True)
    except OSError:  # no symlinks here: a copy, refreshed by the next setup
        shutil.copytree(package, link, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _place_weights(spec: ModelEnv, source: Path | None, known: dict[str, str], log) -> dict[str, str]:
    """Copy (or fetch) each weight file into weights/ and check its hash: the published one, else the one recorded
    when it was first placed. Returns name -> sha256."""
    target_dir = weights_dir(spec.name)
    target_dir.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for weight in spec.weights:
        target = target_dir / weight.name
        if not target.exists():
            found = _find_weight(source, spec, weight) if source else None
            if found is not None:
                log(f"copying {found} -> {target}")
                (shutil.copytree if found.is_dir() else shutil.copy2)(found, target)
            else:
                _fetch(weight, target, source, log)
        digest = _sha256(target)
        expected = weight.sha256 or known.get(weight.name)
        if expected and digest != expected:
            raise SetupError(f"{target}: SHA-256 {digest[:12]}… does not match the expected {expected[:12]}…; "
                             f"delete it and run setup again with the right file")
        hashes[weight.name] = digest
    return hashes


def _find_weight(source: Path, spec: ModelEnv, weight: WeightFile) -> Path | None:
    for candidate in (source / spec.name / weight.name, source / weight.name):
        if candidate.exists():
            return candidate
    return None


def _fetch(weight: WeightFile, target: Path, source: Path | None, log) -> None:
    if weight.url.startswith(HF) and not weight.url.count("/resolve/"):
        where = f"{source}/{weight.name}" if source else f"--weights DIR (DIR/{weight.name})"
        raise SetupError(f"{weight.name}: a Hugging Face snapshot ({weight.url}); download it (huggingface-cli "
                         f"download) and pass {where}")
    log(f"fetching {weight.url}")
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(weight.url, timeout=60) as response, open(partial, "wb") as fh:
            shutil.copyfileobj(response, fh, 1 << 20)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise SetupError(f"could not fetch {weight.url} ({exc}); on a machine without internet put the file in a "
                         f"folder and pass --weights DIR (DIR/{weight.name})") from None
    if weight.url.endswith(".zip"):  # a published archive (InsightFace's packs): its files become the folder
        _unzip(partial, target)
        partial.unlink()
    else:
        partial.replace(target)


def _unzip(archive: Path, target: Path) -> None:
    """Extract `archive` into the folder `target`; an archive holding one folder gives that folder's contents."""
    import zipfile

    staging = target.with_name(target.name + ".unzip")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(staging)
    except (OSError, zipfile.BadZipFile) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise SetupError(f"{archive.name}: not a usable zip archive ({exc})") from None
    entries = list(staging.iterdir())
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
    root.replace(target)
    shutil.rmtree(staging, ignore_errors=True)


def setup(names: list[str], weights: Path | None = None, find_links: list[Path] | None = None,
          no_index: bool = False, repos: Path | None = None, python: str | None = None,
          log: Callable[[str], None] = print) -> dict[str, EnvState]:
    """Build each named model's environment (idempotent: a ready one with the same spec is left as it is)."""
    results = {}
    for name in names:
        spec = MODEL_ENVS[name]
        before = state(name)
        if before.ready:
            log(f"{name}: ready ({env_dir(name)})")
            results[name] = before
            continue
        stamp = _stamp(name)
        if not env_python(name).exists() or stamp.get("spec") != spec.spec_hash():
            _build_env(spec, find_links or [], no_index, repos, python or sys.executable, log)
        hashes = _place_weights(spec, weights, stamp.get("weights", {}), log)
        (env_dir(name) / "ready.json").write_text(json.dumps({"spec": spec.spec_hash(), "weights": hashes}, indent=1))
        results[name] = state(name)
        log(f"{name}: {'ready' if results[name].ready else results[name].reason()}")
    return results


def _build_env(spec: ModelEnv, find_links: list[Path], no_index: bool, repos: Path | None, python: str, log) -> None:
    folder = env_dir(spec.name)
    if folder.exists():
        shutil.rmtree(folder / "venv-tmp", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ready.json").unlink(missing_ok=True)
    _run([python, "-m", "venv", "--clear", str(folder)], log)
    pip = [str(env_python(spec.name)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for links in find_links:
        pip += ["--find-links", str(links)]
    if no_index:
        pip.append("--no-index")
    _run(pip + list(WORKER_REQUIREMENTS) + list(spec.requirements), log)
    if spec.no_deps:
        _run(pip + ["--no-deps", *spec.no_deps], log)
    site = _site_packages(spec.name)
    paths = [str(_link_package(spec.name))]
    if spec.repo:
        paths.append(str(_checkout(spec, repos, log)))
    (site / "avgenbench-paper.pth").write_text("\n".join(paths) + "\n")
    # Built: a later setup whose weights step failed now only places the weights instead of rebuilding.
    (folder / "ready.json").write_text(json.dumps({"spec": spec.spec_hash(), "weights": {}}, indent=1))


def _site_packages(name: str) -> Path:
    found = sorted((env_dir(name) / "lib").glob("python*/site-packages"))
    if not found:
        raise SetupError(f"{env_dir(name)}: no site-packages folder after creating the environment")
    return found[0]


def _checkout(spec: ModelEnv, repos: Path | None, log) -> Path:
    """The model's repository at its pinned commit: a local clone under --repos, else cloned from its URL."""
    assert spec.repo is not None
    target = env_dir(spec.name) / "repo"
    if target.exists():
        shutil.rmtree(target)
    source = str(repos / spec.name) if repos and (repos / spec.name).exists() else spec.repo.url
    try:
        _run(["git", "clone", "-q", source, str(target)], log)
        _run(["git", "-C", str(target), "checkout", "-q", spec.repo.commit], log)
    except SetupError as exc:
        raise SetupError(f"{spec.name}: could not get {spec.repo.url} at {spec.repo.commit} ({exc}); without "
                         f"internet, clone it elsewhere and pass --repos DIR (DIR/{spec.name})") from None
    return target
