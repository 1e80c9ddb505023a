"""Prompt suites in the official AVGen-Bench layout.

SUITE_DIR/prompts/<category>.json              list of {content, prompt, ...}
SUITE_DIR/expected_faces/<category>.expected_faces.json   (optional)
SUITE_DIR/annotations.json                     (optional, frozen per-prompt annotations)
"""

from __future__ import annotations

import json
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

CATEGORIES = (
    "ads", "animals", "asmr", "chemical_reaction", "cooking", "gameplays", "movie_trailer",
    "musical_instrument_tutorial", "news", "physical_experiment", "sports",
)
VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm")
ANNOTATIONS_FILE = "annotations.json"

STEM_MAX_CHARS = 180  # the reference implementation's cut
# A file name (stem + longest extension) stays within 240 UTF-8 bytes: under the 255-byte (ext4, APFS, ZFS) and
# 255-UTF-16-unit (NTFS) limits, with room for `generate`'s '.partial-' prefix.
NAME_MAX_BYTES = 240
STEM_MAX_BYTES = NAME_MAX_BYTES - max(len(ext) for ext in VIDEO_EXTENSIONS)
MAX_SUITE_FILE_BYTES = 32 << 20  # a suite file larger than this is refused unread (the official prompts are ~100 KB)

_UNSAFE = re.compile(r'[/\\:*?"<>|\n\r\t]')
_SPACES = re.compile(r"\s+")
_CATEGORY = re.compile(r"[A-Za-z0-9_-]+")


def _cut_to_bytes(name: str, budget: int) -> str:
    """The longest prefix of `name` (whole characters) whose UTF-8 encoding fits in `budget` bytes."""
    size = 0
    for index, char in enumerate(name):
        size += len(char.encode("utf-8", "surrogatepass"))
        if size > budget:
            return name[:index]
    return name


def safe_filename(content: str) -> str:
    """File stem for a prompt's `content`: the reference implementation's name (unsafe characters -> '_', runs of
    white space -> one space, at most 180 characters), cut further on a character boundary to STEM_MAX_BYTES
    UTF-8 bytes where non-ASCII text makes it longer (the reference's name could not be a file there)."""
    name = _UNSAFE.sub("_", content.strip())
    name = _SPACES.sub(" ", name).strip()
    if not name:
        name = "untitled"
    name = name[:STEM_MAX_CHARS].rstrip()
    return _cut_to_bytes(name, STEM_MAX_BYTES).rstrip()


def name_key(stem: str) -> str:
    """What makes two names one file on some common file system: Unicode normalisation (APFS, HFS+) and letter
    case (macOS and Windows defaults)."""
    return unicodedata.normalize("NFC", stem).casefold()


def unusable_name(stem: str) -> str | None:
    """Why `stem` cannot be a file name on any file system, or None."""
    if "\x00" in stem:
        return "contains a NUL character, which no file name may hold"
    if any("\ud800" <= char <= "\udfff" for char in stem):
        return "contains a lone UTF-16 surrogate (an escape such as \\ud83d without its pair), which cannot be encoded"
    return None


def _is_file(path: Path) -> bool:
    """Path.is_file, False also where the path cannot be examined (e.g. a folder without read permission, which
    video discovery reports)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _video_variant(folder: Path, stem: str) -> Path | None:
    """A video in `folder` named `stem` up to the extension's letter case and the name's Unicode normalisation."""
    try:
        names = sorted(os.listdir(folder))
    except (OSError, ValueError):
        return None
    target = unicodedata.normalize("NFC", stem)
    for name in names:
        base, dot, ext = name.rpartition(".")
        if dot and f".{ext.lower()}" in VIDEO_EXTENSIONS and unicodedata.normalize("NFC", base) == target:
            if _is_file(folder / name):
                return folder / name
    return None


def _contained_stem(stem: str) -> str:
    """A stem that cannot leave its folder: '.' and '..' are the only stems safe_filename leaves dangerous."""
    return "_" * len(stem) if stem in {".", ".."} else stem


class PromptEntry(BaseModel):
    """One item of a prompts file; unknown keys (e.g. `style`) are kept."""

    model_config = ConfigDict(extra="allow", strict=True)
    content: str
    prompt: str

    @field_validator("content", "prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class FaceRange(BaseModel):
    min_ids: int
    max_ids: int


@dataclass(frozen=True)
class PromptItem:
    category: str
    index: int
    content: str
    prompt: str
    extra: dict[str, Any] = field(default_factory=dict)
    expected_faces: FaceRange | None = None

    @property
    def stem(self) -> str:
        return _contained_stem(safe_filename(self.content))

    @property
    def key(self) -> str:
        """Stable id of the item inside a run: '<category>/<file stem>'."""
        return f"{self.category}/{self.stem}"

    def find_video(self, videos_dir: Path) -> Path | None:
        """The generated video for this item, trying every accepted extension in any letter case and the name in
        either Unicode normalisation (NFC/NFD, e.g. copied from macOS); None if absent."""
        folder = Path(videos_dir) / self.category
        for ext in VIDEO_EXTENSIONS:
            candidate = folder / f"{self.stem}{ext}"
            if _is_file(candidate):
                return candidate
        return _video_variant(folder, self.stem)

    def expected_video(self, videos_dir: Path) -> Path:
        return Path(videos_dir) / self.category / f"{self.stem}.mp4"


@dataclass
class SuiteProblem:
    file: str
    index: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.index is not None:
            where += f"[{self.index}]"
        if self.field:
            where += f".{self.field}"
        return f"{where}: {self.message}"


class SuiteError(ValueError):
    def __init__(self, problems: list[SuiteProblem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"suite has {len(problems)} problem(s):\n{lines}")


@dataclass
class Suite:
    root: Path
    items: list[PromptItem]
    annotations: dict[str, Any] = field(default_factory=dict)

    @property
    def categories(self) -> list[str]:
        return sorted({item.category for item in self.items})

    def by_key(self) -> dict[str, PromptItem]:
        return {item.key: item for item in self.items}

    def annotation(self, item: PromptItem) -> dict[str, Any] | None:
        return (self.annotations.get("items") or {}).get(item.key)


def _read_plain_file(path: Path) -> tuple[bytes | None, str | None]:
    """The bytes of a plain file, or why it is not one. Anything else (a folder, a broken link, a FIFO that would
    block, a device) is never read."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None, "is a broken symbolic link" if path.is_symlink() else "does not exist"
    except (OSError, ValueError) as exc:
        return None, f"cannot be read: {getattr(exc, 'strerror', None) or exc}"
    if stat.S_ISDIR(info.st_mode):
        return None, "is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return None, "is not a plain file (a FIFO, socket or device); suite files must be plain JSON files"
    if info.st_size > MAX_SUITE_FILE_BYTES:
        return None, f"is {info.st_size / 2**20:.0f} MiB; a suite file may hold at most {MAX_SUITE_FILE_BYTES >> 20} MiB"
    try:  # O_NONBLOCK: should the file be swapped for a FIFO since the check, opening it still cannot block
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_SUITE_FILE_BYTES + 1)
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"
    if len(data) > MAX_SUITE_FILE_BYTES:
        return None, f"holds more than {MAX_SUITE_FILE_BYTES >> 20} MiB, the most a suite file may hold"
    return data, None


def read_json_file(path: Path, rel: str | None = None) -> tuple[Any, list[SuiteProblem]]:
    """Parse a JSON file of a suite (or an annotations file); (None, problems) when it cannot be used."""
    problems: list[SuiteProblem] = []
    return _read_json(Path(path), problems, rel or str(path)), problems


def _read_json(path: Path, problems: list[SuiteProblem], rel: str) -> Any:
    data, why_not = _read_plain_file(path)
    if why_not or data is None:
        problems.append(SuiteProblem(rel, None, None, why_not or "could not be read"))
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(SuiteProblem(rel, None, None, f"not UTF-8 text: {exc}"))
    except json.JSONDecodeError as exc:
        problems.append(SuiteProblem(rel, None, None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"))
    except RecursionError:
        problems.append(SuiteProblem(rel, None, None, "not usable JSON: nested too deeply"))
    except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit limit
        problems.append(SuiteProblem(rel, None, None, f"not usable JSON: {exc}"))
    return None


def _load_category(path: Path, problems: list[SuiteProblem]) -> list[PromptItem]:
    rel = f"prompts/{path.name}"
    data = _read_json(path, problems, rel)
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(SuiteProblem(rel, None, None, f"must be a JSON list of prompt objects, got {type(data).__name__}"))
        return []
    items: list[PromptItem] = []
    seen_content: dict[str, int] = {}
    seen_name: dict[str, tuple[int, str]] = {}
    for index, raw in enumerate(data):
        if not isinstance(raw, dict):
            problems.append(SuiteProblem(rel, index, None, f"must be an object, got {type(raw).__name__}"))
            continue
        try:
            entry = PromptEntry.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(part) for part in err["loc"]) or None
                problems.append(SuiteProblem(rel, index, loc, err["msg"]))
            continue
        if entry.content in seen_content:
            problems.append(SuiteProblem(rel, index, "content", f"duplicate content (same as item {seen_content[entry.content]})"))
            continue
        seen_content[entry.content] = index
        item = PromptItem(path.stem, index, entry.content, entry.prompt, dict(entry.model_extra or {}))
        unusable = unusable_name(item.stem)
        if unusable:
            problems.append(SuiteProblem(rel, index, "content", f"cannot be a file name: {unusable}"))
            continue
        key = name_key(item.stem)
        if key in seen_name:
            other, other_stem = seen_name[key]
            how = "" if other_stem == item.stem else \
                f" ('{other_stem}' differs only in letter case or Unicode normalisation: one file on macOS and Windows)"
            problems.append(SuiteProblem(
                rel, index, "content", f"maps to the same file name '{item.stem}' as item {other}{how}"))
            continue
        seen_name[key] = (index, item.stem)
        items.append(item)
    return items


def _attach_faces(root: Path, category: str, items: list[PromptItem], problems: list[SuiteProblem]) -> list[PromptItem]:
    path = root / "expected_faces" / f"{category}.expected_faces.json"
    if not os.path.lexists(path):
        return items
    rel = f"expected_faces/{path.name}"
    data = _read_json(path, problems, rel)
    if data is None:
        return items
    if not isinstance(data, list):
        problems.append(SuiteProblem(rel, None, None, "must be a JSON list"))
        return items
    by_content = {item.content: item for item in items}
    ranges: dict[str, FaceRange] = {}
    for index, raw in enumerate(data):
        content = raw.get("content") if isinstance(raw, dict) else None
        if not isinstance(content, str):
            problems.append(SuiteProblem(rel, index, "content", "missing or not a string"))
            continue
        if content not in by_content:
            problems.append(SuiteProblem(rel, index, "content", f"no prompt with this content in prompts/{category}.json"))
            continue
        faces = raw.get("primary_faces")
        try:
            face_range = FaceRange.model_validate(faces)
        except ValidationError as exc:
            problems.append(SuiteProblem(rel, index, "primary_faces", exc.errors()[0]["msg"]))
            continue
        if face_range.min_ids < 0 or face_range.max_ids < face_range.min_ids:
            problems.append(SuiteProblem(rel, index, "primary_faces", "needs 0 <= min_ids <= max_ids"))
            continue
        ranges[content] = face_range
    return [PromptItem(i.category, i.index, i.content, i.prompt, i.extra, ranges.get(i.content)) for i in items]


def inspect_suite(root: Path | str) -> tuple[Suite, list[SuiteProblem]]:
    """Load a suite and collect every problem found (never stops at the first)."""
    root = Path(root)
    problems: list[SuiteProblem] = []
    prompts_dir = root / "prompts"
    if not prompts_dir.is_dir():
        problems.append(SuiteProblem(str(root), None, None, "no prompts/ folder: expected SUITE_DIR/prompts/<category>.json"))
        return Suite(root, []), problems
    items: list[PromptItem] = []
    for path in sorted(prompts_dir.glob("*.json")):  # a folder, link or FIFO named so is reported by _read_json
        if not _CATEGORY.fullmatch(path.stem):
            problems.append(SuiteProblem(f"prompts/{path.name}", None, None,
                                         "category names (file stems) may use only letters, digits, '_' and '-'"))
            continue
        category_items = _load_category(path, problems)
        items.extend(_attach_faces(root, path.stem, category_items, problems))
    faces_dir = root / "expected_faces"
    if faces_dir.is_dir():
        for path in sorted(faces_dir.glob("*.expected_faces.json")):
            category = path.name[: -len(".expected_faces.json")]
            if not (prompts_dir / f"{category}.json").is_file():
                problems.append(SuiteProblem(f"expected_faces/{path.name}", None, None, f"no prompts/{category}.json to match"))
    if not items and not problems:
        problems.append(SuiteProblem("prompts/", None, None, "the suite is empty: no prompt items found"))
    annotations: dict[str, Any] = {}
    ann_path = root / ANNOTATIONS_FILE
    if os.path.lexists(ann_path):
        data = _read_json(ann_path, problems, ANNOTATIONS_FILE)
        if isinstance(data, dict):
            annotations = data
        elif data is not None:
            problems.append(SuiteProblem(ANNOTATIONS_FILE, None, None, "must be a JSON object"))
    return Suite(root, items, annotations), problems


def load_suite(root: Path | str) -> Suite:
    suite, problems = inspect_suite(root)
    if problems:
        raise SuiteError(problems)
    return suite


def demo_suite_path() -> Path:
    return Path(__file__).parent / "data" / "demo_suite"


def fetch_suite(dest: Path | str, repo_id: str = "microsoft/AVGen-Bench") -> Path:
    """Download the official prompts from the Hugging Face dataset (needs network)."""
    dest = Path(dest)
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise RuntimeError("huggingface_hub is not installed") from exc
    try:
        snapshot_download(repo_id=repo_id, repo_type="dataset", local_dir=dest,
                          allow_patterns=["prompts/*.json", "expected_faces/*.json", "*.md", "LICENSE"])
    except Exception as exc:
        raise RuntimeError(
            f"could not download the dataset {repo_id} ({type(exc).__name__}: {exc}). "
            "Offline? Point --suite at a local copy in the official layout "
            "(SUITE_DIR/prompts/<category>.json), e.g. --suite ../shared/avgenbench-suite."
        ) from exc
    return dest
