import json
import os
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


# File names ------------------------------------------------------------------

@pytest.mark.parametrize("content", ["漢字" * 100, "🎬" * 120, "Café " * 60, "ab" + "한국어 " * 70])
def test_safe_filename_fits_every_file_system(tmp_path, content):
    from avgenbench.suite import STEM_MAX_BYTES

    stem = safe_filename(content)
    assert len(stem.encode("utf-8")) <= STEM_MAX_BYTES and len(stem) <= 180
    assert content.startswith(stem)  # cut on a character boundary, nothing replaced
    # The longest names the tools make from it can be created (generate's partial file and sidecar included).
    for name in (f"{stem}.webm", f".partial-{stem}.mp4", f".partial-{stem}.truth.json"):
        (tmp_path / name).write_bytes(b"x")
    root = _write_suite(tmp_path / "s", {"ads": [{"content": content, "prompt": "p"}]})
    item = load_suite(root).items[0]
    assert item.find_video(tmp_path / "videos") is None  # no 'File name too long'


def test_safe_filename_keeps_the_reference_cut_where_it_fits():
    assert safe_filename("é" * 100) == "é" * 100  # 200 bytes: the reference's name, unchanged
    assert safe_filename("x" * 300) == "x" * 180
    assert safe_filename("é" * 200) == "é" * 117  # 180 characters would be 360 bytes: cut to the byte budget


def test_validate_reports_names_that_cannot_be_files_and_file_system_collisions(tmp_path):
    root = tmp_path / "s"
    (root / "prompts").mkdir(parents=True)
    # Written as JSON escapes: a NUL, a lone surrogate, names one file apart only by case or Unicode form.
    (root / "prompts" / "ads.json").write_text(
        '[{"content": "a\\u0000b", "prompt": "p"}, {"content": "x\\ud83d", "prompt": "p"},'
        ' {"content": "Cat", "prompt": "p"}, {"content": "cat", "prompt": "p"},'
        ' {"content": "Caf\\u00e9", "prompt": "p"}, {"content": "Cafe\\u0301", "prompt": "p"}]', encoding="utf-8")
    _, problems = inspect_suite(root)
    text = [str(p) for p in problems]
    assert any("ads.json[0].content: cannot be a file name" in t and "NUL" in t for t in text), text
    assert any("ads.json[1].content: cannot be a file name" in t and "surrogate" in t for t in text), text
    assert any("ads.json[3].content: maps to the same file name" in t and "letter case" in t for t in text), text
    assert any("ads.json[5].content: maps to the same file name" in t for t in text), text
    assert len(problems) == 4


def test_find_video_accepts_any_extension_case_and_unicode_form(tmp_path):
    import unicodedata

    root = _write_suite(tmp_path / "s", {"ads": [{"content": "Upper", "prompt": "p"}, {"content": "Mixed", "prompt": "p"},
                                                 {"content": "Crème brûlée", "prompt": "p"}]})
    upper, mixed, accented = load_suite(root).items
    folder = tmp_path / "videos" / "ads"
    folder.mkdir(parents=True)
    (folder / "Upper.MP4").write_bytes(b"x")
    (folder / "Mixed.Mov").write_bytes(b"x")
    nfd = unicodedata.normalize("NFD", "Crème brûlée")  # as copied from macOS
    assert nfd != accented.stem
    (folder / f"{nfd}.mp4").write_bytes(b"x")
    assert upper.find_video(tmp_path / "videos").name == "Upper.MP4"
    assert mixed.find_video(tmp_path / "videos").name == "Mixed.Mov"
    assert accented.find_video(tmp_path / "videos").name == f"{nfd}.mp4"
    (folder / "Upper.avi").write_bytes(b"x")
    (folder / "Upper.MP4").unlink()
    assert upper.find_video(tmp_path / "videos") is None  # other containers stay unread


# Suite files that are not plain JSON files -------------------------------------

def test_folders_links_huge_and_deep_files_are_listed_problems(tmp_path):
    root = _write_suite(tmp_path / "s", {"ads": [{"content": "x", "prompt": "y"}],
                                         "deep": "[" * 100_000 + "]" * 100_000})
    (root / "prompts" / "folder.json").mkdir()
    (root / "prompts" / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    with open(root / "prompts" / "huge.json", "wb") as handle:  # sparse: takes no disk space
        handle.truncate(40 << 20)
    (root / "annotations.json").mkdir()
    _, problems = inspect_suite(root)
    text = {p.file: p.message for p in problems}
    assert "nested too deeply" in text["prompts/deep.json"]
    assert "folder" in text["prompts/folder.json"]
    assert "broken symbolic link" in text["prompts/dangling.json"]
    assert "40 MiB" in text["prompts/huge.json"]
    assert "folder" in text["annotations.json"]
    assert len(problems) == 5


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_in_prompts_is_a_problem_not_a_hang(tmp_path):
    import subprocess
    import sys

    root = _write_suite(tmp_path / "s", {"ads": [{"content": "x", "prompt": "y"}]})
    os.mkfifo(root / "prompts" / "pipe.json")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    result = subprocess.run([sys.executable, "-m", "avgenbench", "suite", "validate", str(root), "--json"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    problems = json.loads(result.stdout)["problems"]
    assert [p["file"] for p in problems] == ["prompts/pipe.json"] and "FIFO" in problems[0]["message"]
    (root / "prompts" / "pipe.json").unlink()
    os.mkfifo(tmp_path / "annotations.json")  # eval --annotations FILE is never opened when it is a FIFO either
    (tmp_path / "videos").mkdir()
    result = subprocess.run([sys.executable, "-m", "avgenbench", "eval", str(tmp_path / "videos"), "--suite", str(root),
                             "--out", str(tmp_path / "out"), "--annotations", str(tmp_path / "annotations.json")],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "FIFO" in result.stderr, result.stderr


# Video discovery ---------------------------------------------------------------

def _two_category_suite(tmp_path):
    return load_suite(_write_suite(tmp_path / "s", {
        "ads": [{"content": "Summer Sale: Beach Chairs", "prompt": "p"}, {"content": "Coffee Spot", "prompt": "p"}],
        "animals": [{"content": "Cat Kneading", "prompt": "p"}]}))


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not decoded here")
    return path


def test_discovery_counts_and_names_the_closest_expected_file(tmp_path):
    from avgenbench.discovery import discover_videos

    suite = _two_category_suite(tmp_path)
    videos = tmp_path / "videos"
    _touch(videos / "ads" / "Coffee Spot.mp4")
    _touch(videos / "ads" / "Summer Sale Beach Chairs.mp4")  # ':' dropped instead of replaced by '_'
    _touch(videos / "ads" / "Cat Kneading.mp4")  # in the wrong category folder
    _touch(videos / "animals" / "Cat Kneading.avi")
    report = discover_videos(suite, videos)
    assert (report.n_found, report.total, report.layout) == (1, 3, "partial")
    assert report.headline() == f"found 1 of 3 videos in {videos}"
    strays = {s.path: s for s in report.strays}
    assert strays["ads/Summer Sale Beach Chairs.mp4"].closest == "ads/Summer Sale_ Beach Chairs.mp4"
    assert strays["ads/Cat Kneading.mp4"].closest == "animals/Cat Kneading.mp4" and strays["ads/Cat Kneading.mp4"].certain
    assert "extension .avi" in strays["animals/Cat Kneading.avi"].reason
    assert len(report.strays) == 3


def test_discovery_recognises_flat_category_and_nested_layouts(tmp_path):
    from avgenbench.discovery import discover_videos

    suite = _two_category_suite(tmp_path)
    flat = tmp_path / "flat"
    for stem in ("Coffee Spot", "Cat Kneading"):
        _touch(flat / f"{stem}.mp4")
    report = discover_videos(suite, flat)
    assert report.n_found == 0 and report.layout == "flat"
    assert "lie directly in" in report.advice[0]
    assert {s.closest for s in report.strays} == {"ads/Coffee Spot.mp4", "animals/Cat Kneading.mp4"}

    model = tmp_path / "model"
    _touch(model / "ads" / "Coffee Spot.mp4")
    report = discover_videos(suite, model / "ads")  # the path of one category folder
    assert report.layout == "category_folder" and str(model.resolve()) in report.advice[0]
    assert not report.strays  # the file is read once the parent is passed: not listed as misplaced

    report = discover_videos(suite, tmp_path)  # one level too high: the category folders are in tmp_path/model
    assert report.n_found == 0 and report.layout == "nested"
    assert str(model) in report.advice[0] and "pass that folder" in report.advice[0]


def test_suite_paths_lists_every_expected_file(tmp_path):
    from typer.testing import CliRunner

    from avgenbench.cli import app

    suite = _two_category_suite(tmp_path)
    videos = tmp_path / "videos"
    _touch(videos / "ads" / "Coffee Spot.MP4")
    names = CliRunner().invoke(app, ["suite", "paths", str(suite.root)])
    assert names.exit_code == 0
    assert "VIDEOS_DIR/ads/Summer Sale_ Beach Chairs.mp4" in names.output
    result = CliRunner().invoke(app, ["suite", "paths", str(suite.root), "--videos", str(videos), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["found"], data["total"]) == (1, 3)
    found = {e["key"]: e["found"] for e in data["entries"]}
    assert found["ads/Coffee Spot"] == str(videos / "ads" / "Coffee Spot.MP4") and found["animals/Cat Kneading"] is None
    text = CliRunner().invoke(app, ["suite", "paths", str(suite.root), "--videos", str(videos)])
    assert f"found   {videos / 'ads' / 'Coffee Spot.MP4'}" in text.output
    assert f"missing {videos / 'animals' / 'Cat Kneading.mp4'}" in text.output
    assert "found 1 of 3 videos" in text.output
