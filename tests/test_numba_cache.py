"""The numba kernel cache shared by eval processes: safe when processes compile at once, rebuilt when broken."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
KERNELS = 8

# Kernels of our own, compiled for two signatures each. numba's index and data writes are delayed at random, as
# preempted processes on a busy machine would be, so two processes compiling at once overlap in every order.
CHILD = """
import random, sys, time
import avgenbench  # installs the cache lock
from numba.core import caching
def delayed(write):
    def slow(self, *args):
        time.sleep(random.uniform(0, 0.3))
        write(self, *args)
    return slow
caching.IndexDataCacheFile._save_index = delayed(caching.IndexDataCacheFile._save_index)
caching.IndexDataCacheFile._save_data = delayed(caching.IndexDataCacheFile._save_data)
sys.path.insert(0, sys.argv[1])
import kern
order = [3, 3.5] if sys.argv[2] == "int-first" else [3.5, 3]
start = float(sys.argv[3])
while time.time() < start:
    time.sleep(0.001)
wrong = [(i, v, getattr(kern, f"f{i}")(v)) for i in range(%d) for v in order if getattr(kern, f"f{i}")(v) != v * (i + 2) + 1]
print("wrong", wrong)
sys.exit(1 if wrong else 0)
""" % KERNELS


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "AVGENBENCH_CACHE_DIR")}
    return {**env, "PYTHONPATH": SRC, **extra}


def test_processes_compiling_at_once_leave_a_cache_every_process_can_load(tmp_path):
    (tmp_path / "kern.py").write_text("from numba import njit\n" + "".join(
        f"\n\n@njit(cache=True)\ndef f{i}(x):\n    return x * {i + 2} + 1\n" for i in range(KERNELS)))
    env = _env(NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    start = time.time() + 4  # both import numba first, then compile together
    first = [subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), order, str(start)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for order in ("int-first", "float-first")]
    for proc in first:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err[-1500:]
    third = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), "int-first", "0"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, f"a process loading the shared cache got {third.returncode}: {third.stdout}{third.stderr[-1500:]}"


PYIN = """
import sys
from avgenbench import numba_cache
if sys.argv[1] == "ensure":
    print("ensure:", numba_cache.ensure_healthy() or "fine")
numba_cache.warm_up()
print("pyin ran")
"""


def _pyin(root: Path, ensure: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", PYIN, "ensure" if ensure else "plain"],
                            env=_env(AVGENBENCH_CACHE_DIR=str(root)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, err = proc.communicate(timeout=900)
    return proc.returncode, out + err[-1500:]


@pytest.mark.slow  # several pYIN compiles: ~40 s on an idle machine
def test_two_cold_evals_at_once_then_pyin_runs_and_a_corrupted_cache_is_rebuilt(tmp_path):
    root = tmp_path / "cache"
    both = [_pyin(root, ensure=True), _pyin(root, ensure=True)]  # two evals starting cold on one empty cache
    results = [_finish(p) for p in both]
    assert all(code == 0 for code, _ in results), results
    assert sorted("ensure: rebuilt" in text for _, text in results) == [False, True]  # one built it, one reused it
    marker = json.loads((root / "numba" / "avgenbench-ok.json").read_text())
    assert marker["files"] and marker["versions"]["numba"]
    code, text = _finish(_pyin(root, ensure=False))
    assert code == 0 and "pyin ran" in text, text

    for name in marker["files"]:  # break every compiled kernel pYIN uses
        path = root / "numba" / name
        path.write_bytes(b"\x80\x04not a kernel" + path.read_bytes()[64:])
    code, text = _finish(_pyin(root, ensure=False))
    assert code != 0, "the corrupted cache should break pYIN (else this test shows nothing)"
    code, text = _finish(_pyin(root, ensure=True))
    assert code == 0 and "ensure: rebuilt" in text and "pyin ran" in text, text
    code, text = _finish(_pyin(root, ensure=False))
    assert code == 0, text
