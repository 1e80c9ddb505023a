"""One cache root for every cache: judge answers, built models, calibrate clips and numba kernels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from avgenbench import calibrate
from avgenbench.perception import ocr_int8
from avgenbench.cachedir import cache_root
from avgenbench.judge.cache import default_cache_path


def test_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("AVGENBENCH_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "avgenbench"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "avgenbench"
    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path / "own"))
    assert cache_root() == tmp_path / "own"
    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", "  ")  # blank counts as unset
    assert cache_root() == tmp_path / "xdg" / "avgenbench"


def test_every_cache_lives_under_the_root(monkeypatch, tmp_path):
    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path))
    assert default_cache_path() == tmp_path / "judge.sqlite"
    assert calibrate.default_cache_dir() == tmp_path / "calibrate"
    assert ocr_int8.cache_dir() == tmp_path / "models"


def test_numba_cache_follows_the_root(tmp_path):
    """Set when the package is imported, unless the user set NUMBA_CACHE_DIR themselves."""
    code = "import os, json, avgenbench; print(json.dumps(os.environ.get('NUMBA_CACHE_DIR')))"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["AVGENBENCH_CACHE_DIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert Path(json.loads(out)) == tmp_path / "numba"
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "mine")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == str(tmp_path / "mine")


def test_cache_clear_all_empties_the_root_and_plain_clear_keeps_to_judge_answers(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from avgenbench.cli import app
    from avgenbench.judge.cache import JudgeCache

    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path))
    cache = JudgeCache(default_cache_path())
    cache.put("k", "openai", "m", "t@1", {"ok": True}, "{}", 1, 1)
    cache.close()
    for name in ("models/det_int8.onnx", "calibrate/probe.mp4", "numba/pitch.py311.nbi", "numba/pitch.py311.1.nbc"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")

    plain = CliRunner().invoke(app, ["cache", "clear", "--json"])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)["removed"] == 1
    assert {p.name for p in tmp_path.iterdir()} >= {"judge.sqlite", "models", "calibrate", "numba"}

    everything = CliRunner().invoke(app, ["cache", "clear", "--all", "--json"])
    assert everything.exit_code == 0, everything.output
    assert {"judge.sqlite", "models", "calibrate", "numba"} <= set(json.loads(everything.stdout)["removed"])
    assert list(tmp_path.iterdir()) == []
    assert CliRunner().invoke(app, ["cache", "clear", "--all", "--judge", "openai:m"]).exit_code == 2


def test_cache_clear_all_refuses_the_home_folder(monkeypatch, tmp_path):
    from avgenbench.cachedir import clear_all

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "keep.txt").write_text("mine")
    import pytest

    with pytest.raises(ValueError, match="refusing"):
        clear_all(tmp_path)
    assert (tmp_path / "keep.txt").exists()
