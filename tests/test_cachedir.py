"""One cache root for every cache: judge answers, built models, calibrate clips and numba kernels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from avgenbench import calibrate, ocr_int8
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
