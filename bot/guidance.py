"""The guidance catalog: the "AI Cost and Compute" pages that recommendations link to.

The catalog file (`guidance.yml` in the rules folder) lists each page's slug, title and
path. The base URL comes from the `guidance_base_url` setting, so a mirror or a staging
site can be linked instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.yamlfile import LineDict, LineList, YamlFileError, load_yaml

CATALOG_FILE = "guidance.yml"
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_PAGE_KEYS = ("slug", "title", "path")


class GuidanceError(Exception):
    """Raised for an invalid catalog. `errors` contains one `FILE:LINE: …` line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class GuidancePage:
    slug: str
    title: str
    path: str
    base_url: str

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + self.path


@dataclass(frozen=True)
class GuidanceCatalog:
    pages: dict[str, GuidancePage]

    def page(self, slug: str) -> GuidancePage:
        return self.pages[slug]

    def __contains__(self, slug: object) -> bool:
        return slug in self.pages


def load_catalog(path: Path, base_url: str) -> GuidanceCatalog:
    """Load and validate the catalog at `path`; raise GuidanceError listing every problem."""
    if not re.match(r"^https?://[^\s/]+", base_url):
        raise GuidanceError([f"COSTBOT_GUIDANCE_BASE_URL={base_url!r}: not an http(s) URL; use e.g. https://aipromptgear.com"])
    try:
        data = load_yaml(path)
    except YamlFileError as exc:
        raise GuidanceError([str(exc)]) from None

    errors: list[str] = []
    pages: dict[str, GuidancePage] = {}
    if not isinstance(data, LineDict) or set(data) != {"pages"} or not isinstance(data["pages"], LineList):
        line = data.line if isinstance(data, LineDict) else 1
        raise GuidanceError([f"{path}:{line}: expected one top-level key `pages:` with a list of pages"])

    for index, entry in enumerate(data["pages"]):
        line = data["pages"].line_of(index)
        if not isinstance(entry, LineDict):
            errors.append(f"{path}:{line}: page {index + 1}: expected a mapping with slug, title and path")
            continue
        for key in entry:
            if key not in _PAGE_KEYS:
                errors.append(f"{path}:{entry.line_of(key)}: page {index + 1}: unknown key {key!r}; use slug, title, path")
        missing = [key for key in _PAGE_KEYS if not isinstance(entry.get(key), str) or not entry.get(key)]
        if missing:
            errors.append(f"{path}:{line}: page {index + 1}: missing or empty {', '.join(missing)}")
            continue
        slug, title, page_path = entry["slug"], entry["title"], entry["path"]
        if not _SLUG.match(slug):
            errors.append(f"{path}:{entry.line_of('slug')}: page {slug!r}: slug must be lowercase words joined by '-'")
        if not page_path.startswith("/") or " " in page_path:
            errors.append(f"{path}:{entry.line_of('path')}: page {slug!r}: path {page_path!r} must start with '/' and have no spaces")
        if slug in pages:
            errors.append(f"{path}:{entry.line_of('slug')}: page {slug!r}: duplicate slug")
        pages[slug] = GuidancePage(slug=slug, title=title, path=page_path, base_url=base_url)
    if errors:
        raise GuidanceError(errors)
    return GuidanceCatalog(pages=pages)
