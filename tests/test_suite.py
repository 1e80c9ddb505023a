import json
from pathlib import Path

import pytest

from avgenbench.suite import CATEGORIES, inspect_suite, load_suite, safe_filename, SuiteError, demo_suite_path


def test_official_suite_loads(official_suite_dir):
    suite = load_suite(official_suite_dir)
    assert len(suite.items) == 235
    assert suite.categories == sorted(CATEGORIES)
    counts = {c: sum(1 for i in suite.items if i.category == c) for c in suite.categories}
    assert counts["musical_instrument_tutorial"] == 35
    assert all(n == 20 for c, n in counts.items() if c != "musical_instrument_tutorial")
    music = [i for i in suite.items if i.category == "musical_instrument_tutorial"]
    assert sum(1 for i in music if i.expected_faces is not None) == 20
    trailers = [i for i in suite.items if i.category == "movie_trailer"]
    assert all("style" in i.extra for i in trailers)
    assert len({i.key for i in suite.items}) == 235


@pytest.mark.parametrize("content, expected", [
    ("  Hello World  ", "Hello World"),
    ("a/b\\c:d*e?f\"g<h>i|j", "a_b_c_d_e_f_g_h_i_j"),
    ("line\nbreak\rand\ttab", "line_break_and_tab"),
    ("many    spaces \u00a0 here", "many spaces here"),
    ("", "untitled"),
    ("   ", "untitled"),
    ("Sauté: C4–G4", "Sauté_ C4–G4"),
    ("x" * 179 + " y", "x" * 179),
    ("Leave With A Cannonballer | Live There", "Leave With A Cannonballer _ Live There"),
])
def test_safe_filename_matches_reference_rules(content, expected):
    assert safe_filename(content) == expected


def test_safe_filename_length_and_trailing_space():
    name = safe_filename("word " * 60)
    assert len(name) <= 180 and not name.endswith(" ")


def _write_suite(root: Path, prompts: dict, faces: dict | None = None) -> Path:
    (root / "prompts").mkdir(parents=True)
    for category, data in prompts.items():
        text = data if isinstance(data, str) else json.dumps(data)
        (root / "prompts" / f"{category}.json").write_text(text, encoding="utf-8")
    for category, data in (faces or {}).items():
        (root / "expected_faces").mkdir(exist_ok=True)
        (root / "expected_faces" / f"{category}.expected_faces.json").write_text(json.dumps(data), encoding="utf-8")
    return root


def test_bad_suite_lists_every_problem(tmp_path):
    root = _write_suite(tmp_path / "bad", {
        "ads": [
            {"content": "A", "prompt": "ok"},
            {"content": "", "prompt": "empty content"},
            {"prompt": "missing content"},
            {"content": "B", "prompt": 42},
            {"content": "A", "prompt": "duplicate"},
            {"content": "A?", "prompt": "same file name as A_"},
            {"content": "A_", "prompt": "collides with A?"},
            "not an object",
        ],
        "news": "{not json",
        "sports": {"content": "x", "prompt": "not a list"},
    }, faces={
        "ads": [{"content": "nope", "primary_faces": {"min_ids": 0, "max_ids": 1}},
                {"content": "A", "primary_faces": {"min_ids": 3, "max_ids": 1}}],
        "cooking": [],
    })
    _, problems = inspect_suite(root)
    text = [str(p) for p in problems]
    expected_fragments = [
        "prompts/ads.json[1].content", "prompts/ads.json[2].content", "prompts/ads.json[3].prompt",
        "prompts/ads.json[4].content: duplicate", "prompts/ads.json[6].content: maps to the same file name",
        "prompts/ads.json[7]: must be an object", "prompts/news.json: not valid JSON",
        "prompts/sports.json: must be a JSON list", "expected_faces/ads.expected_faces.json[0].content",
        "expected_faces/ads.expected_faces.json[1].primary_faces", "expected_faces/cooking.expected_faces.json: no prompts/cooking.json",
    ]
    for fragment in expected_fragments:
        assert any(fragment in t for t in text), (fragment, text)
    assert len(problems) == len(expected_fragments)
    with pytest.raises(SuiteError) as info:
        load_suite(root)
    assert len(info.value.problems) == len(expected_fragments)


def test_empty_suite_and_missing_folder(tmp_path):
    _, problems = inspect_suite(tmp_path / "nothing")
    assert "no prompts/ folder" in str(problems[0])
    root = _write_suite(tmp_path / "empty", {})
    _, problems = inspect_suite(root)
    assert "empty" in str(problems[0])


def test_paths_stay_inside_the_videos_folder(tmp_path):
    root = _write_suite(tmp_path / "s", {"ads": [
        {"content": "../../etc/passwd", "prompt": "p"}, {"content": "..", "prompt": "p"}, {"content": ".", "prompt": "p"},
        {"content": "/abs/path", "prompt": "p"}]})
    suite = load_suite(root)
    videos = (tmp_path / "videos").resolve()
    for item in suite.items:
        target = item.expected_video(videos).resolve()
        assert target.parent == videos / "ads", target


def test_bad_category_name_is_a_problem(tmp_path):
    root = _write_suite(tmp_path / "s", {"a b": [{"content": "x", "prompt": "y"}]})
    _, problems = inspect_suite(root)
    assert "category names" in str(problems[0])


def test_find_video_accepts_other_containers(tmp_path):
    root = _write_suite(tmp_path / "s", {"ads": [{"content": "Clip: One", "prompt": "p"}]})
    item = load_suite(root).items[0]
    videos = tmp_path / "videos"
    assert item.find_video(videos) is None
    (videos / "ads").mkdir(parents=True)
    (videos / "ads" / "Clip_ One.webm").write_bytes(b"x")
    assert item.find_video(videos).name == "Clip_ One.webm"


def test_demo_suite_is_valid():
    suite = load_suite(demo_suite_path())
    assert len(suite.items) >= 4


def test_fetch_offline_says_how_to_use_a_local_copy(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from avgenbench.cli import app

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: fails at once, like offline
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "2")
    result = CliRunner().invoke(app, ["suite", "fetch", str(tmp_path / "dest")])
    assert result.exit_code == 1
    assert "--suite" in result.output and "local copy" in result.output


def test_validate_cli_lists_problems_as_json(tmp_path):
    from typer.testing import CliRunner

    from avgenbench.cli import app

    root = _write_suite(tmp_path / "s", {"ads": [{"content": "", "prompt": "x"}, {"content": "y"}]})
    result = CliRunner().invoke(app, ["suite", "validate", str(root), "--json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["ok"] is False and len(data["problems"]) == 2
    good = CliRunner().invoke(app, ["suite", "validate", str(demo_suite_path()), "--json"])
    assert good.exit_code == 0 and json.loads(good.stdout)["ok"] is True
