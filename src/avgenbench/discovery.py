"""Which of a suite's videos a folder holds, and why the others are not found: misnamed files, a flat folder, the
path of one category folder, or category folders one level further down."""

from __future__ import annotations

import difflib
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .suite import VIDEO_EXTENSIONS, PromptItem, Suite

# Extensions that look like a video but are not evaluated; a file with one is listed, never silently ignored.
OTHER_VIDEO_EXTENSIONS = (".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".gif", ".3gp", ".ogv")
SIMILARITY_CUTOFF = 0.6  # difflib ratio from which an expected name is offered as the one a file was meant to have


@dataclass
class VideoEntry:
    key: str
    category: str
    expected: str  # where `generate` writes it: VIDEOS_DIR/<category>/<safe name>.mp4
    found: str | None  # the file eval reads (another accepted extension or letter case), or None


@dataclass
class StrayFile:
    """A video-like file under VIDEOS_DIR that no prompt reads."""

    path: str
    kind: str  # unmatched | extension | flat | other_category | duplicate
    reason: str
    closest: str | None = None  # the expected path this file most likely was meant to have
    certain: bool = False  # the name is a prompt's: `closest` is where the file belongs

    def describe(self) -> str:
        if not self.closest:
            return f"{self.path}: {self.reason}"
        return f"{self.path}: {self.reason}; " + ("belongs at " if self.certain else "closest expected name: ") + self.closest


@dataclass
class VideoDiscovery:
    videos_dir: str
    entries: list[VideoEntry]
    strays: list[StrayFile] = field(default_factory=list)
    layout: str = "ok"  # ok | partial | none | no_folder | flat | category_folder | nested
    advice: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.entries)

    @property
    def n_found(self) -> int:
        return sum(1 for e in self.entries if e.found)

    def headline(self) -> str:
        return f"found {self.n_found} of {self.total} videos in {self.videos_dir}"

    def as_dict(self, entries: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "videos_dir": self.videos_dir, "found": self.n_found, "total": self.total, "layout": self.layout,
            "advice": self.advice, "strays": [s.__dict__ for s in self.strays]}
        if entries:
            data["entries"] = [e.__dict__ for e in self.entries]
        return data


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def _video_files(folder: Path) -> list[Path]:
    """Plain, visible files in `folder` with a video-like extension (any letter case)."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    exts = VIDEO_EXTENSIONS + OTHER_VIDEO_EXTENSIONS
    return [folder / n for n in names
            if not n.startswith(".") and os.path.splitext(n)[1].lower() in exts and (folder / n).is_file()]


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def _closest(stem: str, candidates: dict[str, str]) -> str | None:
    """The expected path whose name is most like `stem` (candidates: NFC name -> expected path)."""
    match = difflib.get_close_matches(_nfc(stem), list(candidates), n=1, cutoff=SIMILARITY_CUTOFF)
    return candidates[match[0]] if match else None


def _stray(path: Path, root: Path, stems: dict[str, PromptItem], near: dict[str, str], used: dict[Path, str]) -> StrayFile | None:
    """Why a video-like file is not read (None when a prompt reads it). `stems`: NFC stem -> item of the whole suite;
    `near`: NFC stem -> expected path of the names the file is compared with; `used`: file read -> its prompt's key."""
    if path in used:
        return None
    rel = path.relative_to(root).as_posix()
    stem, ext = os.path.splitext(path.name)
    item = stems.get(_nfc(stem))
    if item is None:
        return StrayFile(rel, "unmatched", "matches no prompt's file name", _closest(stem, near))
    target = item.expected_video(root).relative_to(root).as_posix()
    if ext.lower() not in VIDEO_EXTENSIONS:
        return StrayFile(rel, "extension", f"extension {ext} is not read (accepted: {', '.join(VIDEO_EXTENSIONS)})", target, True)
    if path.parent == root:
        return StrayFile(rel, "flat", "lies directly in the videos folder, not in its category folder", target, True)
    if path.parent.name != item.category:
        return StrayFile(rel, "other_category", f"named like a prompt of category '{item.category}'", target, True)
    return StrayFile(rel, "duplicate", "a second file for a prompt that already has one; that one is read")


def _nested_candidates(suite: Suite, root: Path) -> list[tuple[Path, int]]:
    """Subfolders of `root` (not categories) whose own category folders hold videos of the suite, with their counts."""
    found = []
    for sub in _subfolders(root):
        if sub.name in suite.categories or not any((sub / c).is_dir() for c in suite.categories):
            continue
        n = sum(1 for item in suite.items if item.find_video(sub))
        if n:
            found.append((sub, n))
    return found


def discover_videos(suite: Suite, videos_dir: Path | str) -> VideoDiscovery:
    """Match every prompt of `suite` to its file under `videos_dir`, list the video files no prompt reads (with the
    expected name closest to each), and recognise the usual layout mistakes, saying what to do about them."""
    root = Path(videos_dir)
    entries = []
    for item in suite.items:
        path = item.find_video(root)
        entries.append(VideoEntry(item.key, item.category, str(item.expected_video(root)), str(path) if path else None))
    report = VideoDiscovery(str(root), entries)
    if not root.is_dir():
        report.layout = "no_folder"
        report.advice.append(f"{root} is not a folder")
        return report
    used = {Path(e.found): e.key for e in entries if e.found}
    stems = {_nfc(item.stem): item for item in suite.items}
    expected = {item.key: item.expected_video(root).relative_to(root).as_posix() for item in suite.items}
    every = {_nfc(item.stem): expected[item.key] for item in suite.items}
    for category in suite.categories:
        if (root / category).is_dir() and not os.access(root / category, os.R_OK | os.X_OK):
            report.advice.append(f"the folder {root / category} cannot be read (permissions): its videos count as missing")
        near = {_nfc(i.stem): expected[i.key] for i in suite.items if i.category == category}
        for path in _video_files(root / category):
            stray = _stray(path, root, stems, near, used)
            if stray:
                report.strays.append(stray)
    others = [sub for sub in _subfolders(root) if sub.name not in suite.categories]
    flat = _video_files(root)
    flat_matches = sum(1 for p in flat if _nfc(p.stem) in stems)
    report.strays += [s for s in (_stray(path, root, stems, every, used) for path in flat) if s]
    _diagnose(report, suite, root, flat_matches, bool(flat), others)
    return report


def _diagnose(report: VideoDiscovery, suite: Suite, root: Path, flat_matches: int, any_flat: bool,
              others: list[Path]) -> None:
    found, total = report.n_found, report.total
    paths_hint = "`avgenbench suite paths SUITE --videos DIR` lists every expected path"
    if root.name in suite.categories and (flat_matches or (any_flat and not found)):
        report.layout = "category_folder"
        report.strays = [s for s in report.strays if s.kind != "flat"]  # the advice says where they are read from
        report.advice.append(
            f"{root} looks like the folder of category '{root.name}': pass the folder that holds the category "
            f"folders, {root.resolve().parent}")
    elif flat_matches > found:
        report.layout = "flat"
        report.advice.append(
            f"{flat_matches} video(s) lie directly in {root}; eval reads VIDEOS_DIR/<category>/<name>.mp4: move each "
            f"into the folder of its category ({paths_hint})")
    elif found == 0 and (nested := _nested_candidates(suite, root)):
        report.layout = "nested"
        if len(nested) == 1:
            sub, n = nested[0]
            report.advice.append(f"the category folders are one level further down: {n} video(s) in {sub}; pass that folder")
        else:
            report.advice.append("the category folders are one level further down, in several folders (one model "
                                 "each?): " + ", ".join(f"{sub} ({n})" for sub, n in nested)
                                 + "; evaluate each on its own, with its own --run name")
    elif found == total:
        report.layout = "ok"
    else:
        report.layout = "partial" if found else "none"
        if not found:
            example = suite.items[0].expected_video(root) if suite.items else root / "<category>" / "<name>.mp4"
            report.advice.append(f"no file has an expected name, e.g. {example} ({paths_hint})")
    if others and report.layout != "nested":
        report.advice.append("folders that are not categories of the suite are not read: "
                             + ", ".join(sub.name for sub in others[:10]) + (" ..." if len(others) > 10 else ""))
    if any(s.closest and not s.certain for s in report.strays):
        report.advice.append("some files look misnamed: each is listed with the expected name closest to it")
