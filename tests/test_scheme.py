"""scheme.py holds Scheme 2 as data: scoring reads it without loading measuring code, and it agrees with the dimensions."""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avgenbench import scheme
from avgenbench.dimensions import DIMENSIONS, base
from avgenbench.media import MediaStatus

SRC = Path(scheme.__file__).resolve().parents[1]
MEASURING = ("avgenbench.dimensions", "avgenbench.judge", "avgenbench.perception")


def _loaded_after(module: str) -> list[str]:
    """The avgenbench modules a fresh interpreter holds after importing `module`."""
    code = f"import sys, json, {module}; print(json.dumps(sorted(m for m in sys.modules if m.startswith('avgenbench'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)})
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["avgenbench.score", "avgenbench.stats", "avgenbench.leaderboard",
                                    "avgenbench.report", "avgenbench.report.data", "avgenbench.tables"])
def test_scoring_loads_no_measuring_code(module):
    loaded = _loaded_after(module)
    assert module in loaded and "avgenbench.scheme" in loaded
    measuring = [m for m in loaded if m == "avgenbench.media" or m.startswith(MEASURING)]
    assert measuring == [], f"{module} loads {measuring}"


def test_scheme_imports_nothing_from_the_package():
    tree = ast.parse(Path(scheme.__file__).read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    relative = [n.module for n in imports if isinstance(n, ast.ImportFrom) and n.level > 0]
    absolute = [a.name for n in imports if isinstance(n, ast.Import) for a in n.names]
    absolute += [n.module for n in imports if isinstance(n, ast.ImportFrom) and n.level == 0]
    assert relative == [] and not [m for m in absolute if m and m.startswith("avgenbench")]
    # At run time too: importing it adds no package module but itself.
    assert set(_loaded_after("avgenbench.scheme")) - set(_loaded_after("avgenbench")) == {"avgenbench.scheme"}


def test_stats_does_not_import_score():
    """score imports stats; stats reads the failure policy from scheme, so the two no longer form a cycle."""
    tree = ast.parse((SRC / "avgenbench" / "stats.py").read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "score" not in modules and "scheme" in modules


def test_every_dimension_takes_its_facts_from_the_scheme():
    assert tuple(DIMENSIONS) == scheme.DIMENSION_IDS
    for dim_id, dim in DIMENSIONS.items():
        s = scheme.SCHEME[dim_id]
        assert (dim.id, dim.display, dim.group, dim.unit, dim.higher_is_better, dim.worst_raw, dim.description) == \
            (s.id, s.display, s.group, s.unit, s.higher_is_better, s.worst_raw, s.description)
        assert dim.normalize == s.normalize and dim.weight == s.weight and dim.normalization == s.normalization
        assert s.group in scheme.GROUPS and s.display and s.unit and s.description
    with pytest.raises(ValueError, match="not in scheme.SCHEME"):
        base.Dimension(id="smell", needs=DIMENSIONS["vis"].needs)


def test_weights_sum_to_one_and_share_each_group_equally():
    assert sum(s.weight for s in scheme.SCHEME.values()) == pytest.approx(1.0)
    assert sum(scheme.GROUP_WEIGHTS.values()) == pytest.approx(1.0)
    members = {"basic": 2, "cross": 2, "fine": 7}  # Scheme 2: Vis, Aud | AV, Lip | seven fine-grained dimensions
    for group, weight in scheme.GROUP_WEIGHTS.items():
        dims = [s for s in scheme.SCHEME.values() if s.group == group]
        assert len(dims) == members[group]
        assert sum(s.weight for s in dims) == pytest.approx(weight)
        assert all(s.weight == pytest.approx(weight / members[group]) for s in dims)
    assert scheme.SCHEME["vis"].weight == pytest.approx(0.1) and scheme.SCHEME["text"].weight == pytest.approx(0.6 / 7)


def _clamp(value: float) -> float:
    return min(100.0, max(0.0, value))


# Scheme 2's normalisations as the dimension modules declared them before scheme.py (scale(k) and inverse(limit)).
PAPER = {
    "vis": lambda r: _clamp(r * 100), "aud": lambda r: _clamp(r * 10),
    "av": lambda r: _clamp(100 * (1 - r / 0.5)), "lip": lambda r: _clamp(100 * (1 - r / 8)),
    "text": _clamp, "face": _clamp, "music": _clamp, "speech": _clamp,
    "lo_phy": lambda r: _clamp(r * 20), "hi_phy": _clamp, "holistic": _clamp,
}
WORST = {"vis": 0.0, "aud": 1.0, "av": 0.5, "lip": 8.0, "lo_phy": 1.0}
GRID = (-5.0, -0.01, 0.0, 0.1, 0.25, 0.5, 0.9, 1.0, 2.0, 3.5, 5.0, 7.99, 8.0, 9.5, 10.0, 11.0, 42.0, 99.9, 100.0, 250.0,
        math.inf, -math.inf)


@pytest.mark.parametrize("dim_id", list(PAPER))
def test_normalisation_matches_the_paper_on_a_grid(dim_id):
    s = scheme.SCHEME[dim_id]
    assert s.worst_raw == WORST.get(dim_id, 0.0)
    for raw in GRID + (s.worst_raw,):
        assert scheme.normalize(dim_id, raw) == pytest.approx(PAPER[dim_id](raw)), raw
        assert 0.0 <= scheme.normalize(dim_id, raw) <= 100.0
    # The worst raw value is the bottom of the dimension's unit: no raw value in its range scores lower.
    in_unit = [r for r in GRID if math.isfinite(r) and (r >= s.worst_raw if s.higher_is_better else r >= 0.0)]
    assert all(scheme.normalize(dim_id, s.worst_raw) <= scheme.normalize(dim_id, r) for r in in_unit)


def test_normalisation_text_and_bad_parameters():
    assert scheme.SCHEME["lo_phy"].normalization == "raw × 20, clamped to 0–100"
    assert scheme.SCHEME["av"].normalization == "100 · max(0, 1 − raw / 0.5)"
    with pytest.raises(ValueError, match="unknown normalisation"):
        scheme.Normalization("log", 2.0)
    with pytest.raises(ValueError, match="positive"):
        scheme.inverse(0)


def test_statuses_have_one_kind_each_and_are_shared():
    names = {v for k, v in vars(scheme.Status).items() if k.isupper()}
    sets = (scheme.VIDEO_FAULTS, scheme.NOT_SCORED, scheme.TOOL_FAULTS)
    assert sum(len(s) for s in sets) + 1 == len(names) and set().union(*sets) | {scheme.Status.OK} == names
    assert {scheme.status_kind(n) for n in names} == set(scheme.STATUS_KINDS)
    assert scheme.status_kind("no_face") == "video_fault" and scheme.status_kind("no_events") == "not_scored"
    assert scheme.status_kind("something new") == "tool_fault"
    assert scheme.RETRY_STATUSES <= scheme.TOOL_FAULTS
    # dimensions.base re-exports the same objects; decoding statuses are the scheme's strings.
    assert base.Status is scheme.Status and base.status_kind is scheme.status_kind and base.GROUPS is scheme.GROUPS
    media = {k: v for k, v in vars(MediaStatus).items() if k.isupper()}
    assert media and all(getattr(scheme.Status, k) == v for k, v in media.items())


def test_failure_policies():
    assert scheme.POLICIES == tuple(scheme.POLICY_TEXT)
    for dim_id, s in scheme.SCHEME.items():
        assert scheme.policy_value(dim_id, "ok", 0.3, "strict") == 0.3
        assert scheme.policy_value(dim_id, "no_audio_stream", None, "strict") == s.worst_raw
        assert scheme.policy_value(dim_id, "no_audio_stream", None, "reference") is None
        for status in ("error", "no_judge", "unavailable_in_tier", "not_applicable", "inconclusive"):
            assert scheme.policy_value(dim_id, status, None, "strict") is None
