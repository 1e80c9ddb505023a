"""Versioned judge prompts stored as data (templates/<id>.json): system text, user text with $placeholders,
and the JSON schema of the answer. Bump `version` whenever the wording or schema changes: it is part of the cache key
and recorded with every frozen annotation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template as _Text
from typing import Any

from .types import JudgeRequest, Part, TextPart

TEMPLATE_DIR = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class Template:
    id: str
    version: str
    purpose: str
    system: str
    user: str
    schema: dict[str, Any]

    def render(self, **values: Any) -> str:
        return _Text(self.user).substitute({k: str(v) for k, v in values.items()})

    @property
    def tag(self) -> str:
        return f"{self.id}@{self.version}"


@lru_cache(maxsize=None)
def load(template_id: str) -> Template:
    path = TEMPLATE_DIR / f"{template_id}.json"
    if not path.is_file():
        raise KeyError(f"no judge template '{template_id}' in {TEMPLATE_DIR}")
    data = json.loads(path.read_text(encoding="utf-8"))
    text = lambda v: "\n".join(v) if isinstance(v, list) else v  # noqa: E731 - templates keep long text as line lists
    return Template(data["id"], str(data["version"]), data.get("purpose", ""), text(data["system"]), text(data["user"]),
                    data["schema"])


def all_templates() -> list[Template]:
    return [load(p.stem) for p in sorted(TEMPLATE_DIR.glob("*.json"))]


def request(template_id: str, parts: list[Part] | None = None, repeat: int = 0,
            required_ids: dict[str, list[str]] | None = None, **values: Any) -> JudgeRequest:
    """A judge request from a template: its rendered text (placeholders filled from `values`) followed by `parts`."""
    tpl = load(template_id)
    return JudgeRequest(tpl.id, tpl.version, tpl.system, [TextPart(tpl.render(**values))] + list(parts or []),
                        tpl.schema, temperature=0.0, repeat=repeat, required_ids=required_ids or {})
