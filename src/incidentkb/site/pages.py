"""Which pages the knowledge base has, where each lives, and what each is rendered from.

Only the few index pages go in the navigation; an incident page is reached from the home table, its category
and tag pages, and search. A navigation that listed every incident would be repeated in every page, so the
build time and the size of the site would grow with the square of the number of incidents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from incidentkb.site import markup
from incidentkb.site.standing import KnowledgeBase

__all__ = [
    "PageSpec",
    "PageConflict",
    "MATRIX",
    "CATEGORIES",
    "TAGS",
    "incident_uri",
    "category_uri",
    "tag_uri",
    "slug",
    "plan",
]

MATRIX = "matrix.md"
CATEGORIES = "categories.md"
TAGS = "tags.md"


def slug(text: str) -> str:
    """A URL part for a category name: `StyleGAN` -> `stylegan`, `LLM fine-tuning` -> `llm-fine-tuning`."""
    words = re.findall(r"\w+", text.casefold())
    return "-".join(words) or "uncategorised"


def incident_uri(incident_id: str) -> str:
    return f"incidents/{incident_id}.md"


def category_uri(category: str) -> str:
    return f"categories/{slug(category)}.md"


def tag_uri(tag: str) -> str:
    return f"tags/{tag}.md"


@dataclass(frozen=True)
class PageSpec:
    """One generated page: its source URI in the docs, its title, the template, and what the template is given."""

    uri: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    in_nav: bool = False
    """Index pages may be named in `nav:`; incident, category and tag pages never are."""
    search: str | None = None
    """The template of what search indexes of the page (incident pages); None keeps the page out of search,
    as index pages would only repeat the incidents' text."""
    hide: tuple[str, ...] = ("navigation",)
    """Parts of Material's layout the page does without (wide tables need the room)."""

    @property
    def meta(self) -> dict[str, Any]:
        """The page's front matter."""
        meta: dict[str, Any] = {"title": markup.plain_title(self.title), "hide": list(self.hide)}
        if self.search is None:
            meta["search"] = {"exclude": True}
        else:  # an incident is what a pasted error is looking for: it ranks above the hand-written pages
            meta["search"] = {"boost": 4}
        return meta


class PageConflict(ValueError):
    """Two generated pages would have the same URI (two categories that differ only in case or punctuation)."""


def plan(kb: KnowledgeBase) -> list[PageSpec]:
    """Every page the records and results call for."""
    wide = ("navigation", "toc")
    by_category, by_tag = kb.by_category(), kb.by_tag()
    specs = [
        PageSpec(MATRIX, "Regression matrix", "matrix.html", {"kb": kb}, in_nav=True, hide=wide),
        PageSpec(CATEGORIES, "Categories", "categories.html", {"kb": kb, "groups": by_category}, in_nav=True),
        PageSpec(TAGS, "Tags", "tags.html", {"kb": kb, "groups": by_tag}, in_nav=True),
    ]
    for name, items in by_category.items():
        context = {"kb": kb, "name": name, "items": items}
        specs.append(PageSpec(category_uri(name), f"Category: {name}", "category.html", context, hide=wide))
    for tag, items in by_tag.items():
        specs.append(PageSpec(tag_uri(tag), f"Tag: {tag}", "tag.html", {"kb": kb, "name": tag, "items": items}, hide=wide))
    for item in kb.incidents:
        specs.append(
            PageSpec(incident_uri(item.id), item.incident.title, "incident.html", {"kb": kb, "item": item},
                     search="incident_search.html")
        )
    seen: dict[str, PageSpec] = {}
    for spec in specs:
        if spec.uri in seen:
            raise PageConflict(
                f"{seen[spec.uri].title!r} and {spec.title!r} would both be the page {spec.uri}; "
                "spell the category the same way in every record"
            )
        seen[spec.uri] = spec
    return specs
