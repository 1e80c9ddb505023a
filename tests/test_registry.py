"""The dimension registry imports a dimension's module only when that dimension is asked for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avgenbench.dimensions import DIMENSION_IDS, DIMENSIONS, get_dimension, parse_dimension_list

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules_after(code: str) -> set[str]:
    """The avgenbench modules loaded in a fresh interpreter after running `code`."""
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('avgenbench'))))\n"
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_one_dimension_imports_only_its_own_module():
    loaded = _modules_after("from avgenbench.dimensions import get_dimension\nassert get_dimension('vis').id == 'vis'")
    assert "avgenbench.dimensions.vis" in loaded
    others = {f"avgenbench.dimensions.{d}" for d in DIMENSION_IDS if d != "vis"}
    assert not loaded & others, sorted(loaded & others)
    heavy = [m for m in loaded if m.startswith(("avgenbench.judge", "avgenbench.perception"))
             or m.split(".")[-1] in ("ocr_int8", "asr", "vad", "text")]
    assert not heavy, heavy


def test_ids_and_parsing_import_no_dimension_module():
    loaded = _modules_after("from avgenbench.dimensions import DIMENSION_IDS, DIMENSIONS, parse_dimension_list\n"
                            "assert parse_dimension_list('aud,vis') == ['vis', 'aud']\n"
                            "assert list(DIMENSIONS) == list(DIMENSION_IDS) and 'text' in DIMENSIONS")
    assert not {f"avgenbench.dimensions.{d}" for d in DIMENSION_IDS} & loaded


def test_every_registered_dimension_loads_under_its_id():
    assert DIMENSION_IDS == ("vis", "aud", "av", "lip", "text", "face", "music", "speech", "lo_phy", "hi_phy", "holistic")
    for dim_id in DIMENSION_IDS:
        assert get_dimension(dim_id).id == dim_id
        assert DIMENSIONS[dim_id] is get_dimension(dim_id)
    assert [d.id for d in DIMENSIONS.values()] == list(DIMENSION_IDS)
    assert len(DIMENSIONS) == 11 and "nope" not in DIMENSIONS


def test_unknown_dimension_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown dimension 'nope'; known: vis, aud"):
        get_dimension("nope")
    with pytest.raises(KeyError, match="unknown dimension 'nope'"):
        DIMENSIONS["nope"]
    with pytest.raises(KeyError, match="unknown dimension 'nope'"):
        parse_dimension_list("vis,nope")
