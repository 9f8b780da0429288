"""A package's list of releases: from PyPI's JSON API, or from local wheel folders (`--find-links`, offline).

PyPI's JSON API (`https://pypi.org/pypi/<name>/json`) gives every release with its files, whether each file is
yanked and its upload time, in one request. A release counts as yanked when every file of it is (pip's own rule),
and one without files is no release to install. Local folders are read by wheel file name, the way pip's
`--find-links` reads them, so a bisection over a wheelhouse or a test's handmade wheels needs no network.
`INCIDENTKB_INDEX_URL` points the client at another index of the same API (a mirror).
"""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from incidentkb.host.versions import canonical_name
from incidentkb.matrix.bisect import BisectError, Release

__all__ = ["PYPI_JSON", "releases", "from_pypi_json", "from_folders"]

PYPI_JSON = "https://pypi.org/pypi/{name}/json"


def from_pypi_json(data: dict, package: str) -> list[Release]:
    """The releases in a JSON API answer (pure: the tests feed it answers written by hand)."""
    found = []
    for version, files in (data.get("releases") or {}).items():
        if not files:
            continue
        yanked = all(f.get("yanked", False) for f in files)
        dates = sorted(str(f.get("upload_time_iso_8601") or f.get("upload_time") or "") for f in files)
        found.append(Release(version, yanked=yanked, date=(dates[0][:10] or None) if dates else None))
    return found


_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")
_SDIST = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)\.(tar\.gz|zip)$")


def from_folders(folders: Iterable[str | Path], package: str) -> list[Release]:
    """The versions of `package` among the wheels and sdists in local folders."""
    wanted, versions = canonical_name(package), set()
    for folder in folders:
        for path in Path(folder).iterdir() if Path(folder).is_dir() else ():
            match = _WHEEL.match(path.name) or _SDIST.match(path.name)
            if match and canonical_name(match["name"]) == wanted:
                versions.add(match["version"])
    return [Release(v) for v in sorted(versions)]


def releases(package: str, *, find_links: Iterable[str | Path] = (), offline: bool = False, timeout_s: float = 30) -> list[Release]:
    """Every release of `package`: from the local folders when offline (or when they hold it), else the index."""
    local = from_folders(find_links, package)
    if offline or local:
        if not local:
            raise BisectError(f"{package}: no wheel of it in {', '.join(map(str, find_links)) or 'the given folders'}")
        return local
    url = os.environ.get("INCIDENTKB_INDEX_URL", PYPI_JSON).format(name=canonical_name(package))
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "incidentkb-bisect"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            data = json.load(answer)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise BisectError(f"{package}: no such package on the index ({url} answered 404); check the name") from None
        raise BisectError(f"{package}: the index answered {exc.code} for {url}; try again later") from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BisectError(
            f"{package}: the package index cannot be reached ({url}: {reason}); bisect needs the network, "
            "or --find-links DIR with the candidates' wheels") from None
    except ValueError:
        raise BisectError(f"{package}: the index's answer at {url} is not JSON") from None
    return from_pypi_json(data, package)
