"""Shared fixtures: the official suite beside the checkout, and a place for generated clips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OFFICIAL_SUITE = Path(os.environ.get("AVGENBENCH_OFFICIAL_SUITE", REPO.parent / "shared" / "avgenbench-suite"))
# Real T2AV outputs in the suite layout (suite/, videos/, manifest.json); never copied into the repository.
REALCLIPS = Path(os.environ.get("AVGENBENCH_REALCLIPS", REPO.parent / "shared" / "realclips-dev"))
# `eval` runs in this process unless a test asks for workers: tests monkeypatch in-process state, and a pool would load
# every model again per eval (tests/test_speed.py checks the default itself).
os.environ.setdefault("AVGENBENCH_WORKERS", "1")


@pytest.fixture(scope="session")
def official_suite_dir() -> Path:
    if not (OFFICIAL_SUITE / "prompts").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"official suite missing at {OFFICIAL_SUITE}")
        pytest.skip(f"official suite not found at {OFFICIAL_SUITE}")
    return OFFICIAL_SUITE


@pytest.fixture(scope="session")
def realclips_dir() -> Path:
    """The real dev clips beside the checkout; tests that need them skip (with the path) when they are absent."""
    if not (REALCLIPS / "videos").is_dir() or not (REALCLIPS / "suite" / "prompts").is_dir():
        pytest.skip(f"real dev clips not found at {REALCLIPS} (set AVGENBENCH_REALCLIPS)")
    return REALCLIPS


def realclip(realclips_dir: Path, category: str, content: str) -> Path:
    """One real dev clip by its category and prompt content (its file stem)."""
    path = realclips_dir / "videos" / category / f"{content}.mp4"
    if not path.is_file():
        pytest.skip(f"real dev clip missing: {path}")
    return path


@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory) -> Path:
    """A session-wide folder for generated clips that several tests reuse."""
    return tmp_path_factory.mktemp("clips")


def paper_package_source() -> tuple[list[Path], bool]:
    """Where a paper model's environment gets its packages in tests: (find-links folders, no_index). A wheel folder in
    $AVGENBENCH_PAPER_WHEELHOUSE is used alone; else pip's own configuration, but only when it offers torch's CPU build
    from a local folder (otherwise pip would download a CUDA build of several GB): the test skips, saying so."""
    import glob
    import subprocess
    import sys

    house = os.environ.get("AVGENBENCH_PAPER_WHEELHOUSE")
    if house:
        return [Path(house)], True
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    folders = os.environ.get("PIP_FIND_LINKS", "").split()
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.endswith("find-links"):
            folders += value.strip("'\"").split()
    if any(glob.glob(os.path.join(f, "torch-*+cpu-*.whl")) for f in folders if os.path.isdir(f)):
        return [], False
    pytest.skip("no local CPU build of torch for the model environment (pip would download a CUDA build of several "
                "GB): set AVGENBENCH_PAPER_WHEELHOUSE to a folder of wheels")


def ready_paper_env(tmp_path_factory, name: str, write_weights):
    """A paper model's environment built for a test module (use as `yield from` in a module-scoped fixture): under a
    fresh cache root, `setup paper` builds it from the local package source and must stop at the weights step (fetches
    are refused); `write_weights(python, folder)` then writes the test's weights into `folder` with the environment's
    own python, and setup runs again from that folder and must leave the model ready. Yields (cache root, weights
    folder); skips, saying why, when the environment's packages cannot be installed here."""
    from avgenbench import model_envs
    from avgenbench.model_envs import SetupError

    def refuse_fetch(weight, target, source, log):
        raise SetupError(f"{weight.name}: not fetched in tests")

    cache = tmp_path_factory.mktemp("paper-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("AVGENBENCH_CACHE_DIR", str(cache))
    patch.setattr(model_envs, "_fetch", refuse_fetch)
    links, no_index = paper_package_source()
    try:
        with pytest.raises(SetupError, match="not fetched in tests"):  # built, then stops at the weights
            model_envs.setup([name], None, links, no_index=no_index, log=lambda line: None)
    except SetupError as exc:
        patch.undo()
        if "No matching distribution" in str(exc) or "Could not find a version" in str(exc):
            pytest.skip(f"the {name} environment's packages cannot be installed here: {exc}")
        raise
    weights = cache / "weights-in"
    weights.mkdir()
    try:
        write_weights(str(model_envs.env_python(name)), weights)
        states = model_envs.setup([name], weights, links, no_index=no_index, log=lambda line: None)
        assert states[name].ready, states[name].missing
    except BaseException:
        patch.undo()
        raise
    yield cache, weights
    patch.undo()


def run_in_env(python: str, script: str, *args) -> str:
    """Run `script` with a model environment's python; its stdout (the test fails with its stderr if it fails)."""
    import subprocess

    done = subprocess.run([python, "-c", script, *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
