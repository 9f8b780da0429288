"""The plugin's options in `mkdocs.yml`; paths are relative to the directory of `mkdocs.yml`."""

from __future__ import annotations

from mkdocs.config import config_options as opt
from mkdocs.config.base import Config

__all__ = ["SiteConfig"]


class SiteConfig(Config):
    incidents = opt.Type(str, default="incidents")
    """The directory of `<id>.yaml` records."""
    results = opt.Type(str, default="regressions/results")
    """The directory of results files; missing means no results yet."""
    templates = opt.Optional(opt.Type(str))
    """A directory whose templates replace the packaged ones of the same name (`incident.html`, `incidentkb.css`...)."""
    page_worker = opt.Choice(("auto", "always", "never"), default="auto")
    """Render the generated pages in a worker process beside MkDocs (`incidentkb.site.worker`): `auto` when the
    site has enough of them and it is safe, `always` when it is safe (tests), `never`."""
    branch = opt.Type(str, default="main")
    """The repository's branch that edit links and links to a case's code point at, when `repo_url` is set."""
