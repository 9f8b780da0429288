"""A worker process that renders the generated pages while MkDocs puts earlier ones in the theme.

MkDocs builds a site on one core: it reads every page, then puts each in the theme's template and writes it.
At 1,000 incidents our own templates are a quarter of that time (page bodies about 0.6 s, their matrices and
other late fragments about 0.3 s, of 3.6 s) and the theme another third, one after the other. When it is
worth it, the plugin forks a worker once the knowledge base is loaded: the worker renders every generated
page, late fragments included, in the order MkDocs builds them and sends each through a pipe; the plugin
takes a page just before the theme needs it, by then long rendered. The pages are the same, byte for byte.

Only where it is safe: a system that forks (Linux), two or more CPUs to run on, and no other thread (`mkdocs
serve` serves from threads, and a fork copies whatever locks they hold). Nothing that goes wrong with the
worker is an error: if it dies or stops sending, the plugin renders the pages it lacks itself, as it does
without a worker, so a template's error is reported exactly as it would be.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import struct
import sys
import threading
from collections.abc import Callable, Iterable
from typing import BinaryIO

from incidentkb.site.render import RenderedPage

__all__ = ["PageWorker", "worth_a_worker", "MIN_PAGES"]

#: Below this many generated pages a fork costs more than it saves (a page renders in about a millisecond).
MIN_PAGES = 200
_LENGTH = struct.Struct("<Q")
#: Room in the pipe for a few pages (about 60 KB each at 1,000 incidents), so the worker keeps ahead.
_PIPE_BYTES = 1 << 20


def worth_a_worker(pages: int, mode: str) -> bool:
    """Whether to render `pages` generated pages in a worker; `mode` is the plugin's `page_worker` option."""
    if mode == "never" or not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return False
    if threading.active_count() > 1:
        return False
    if mode == "always":
        return True
    return pages >= MIN_PAGES and len(os.sched_getaffinity(0)) >= 2


class PageWorker:
    """The forked worker, seen from the plugin: `take` a page by its URI, `close` at the end of the build."""

    def __init__(self, pid: int, pipe: BinaryIO) -> None:
        self._pid = pid
        self._pipe: BinaryIO | None = pipe
        self._waiting: dict[str, RenderedPage] = {}

    @classmethod
    def start(cls, uris: Iterable[str], render: Callable[[str], RenderedPage]) -> PageWorker:
        """Fork a worker that sends `render(uri)` for each of `uris`, in that order."""
        read_end, write_end = os.pipe()
        with contextlib.suppress(AttributeError, OSError):  # Linux only; the default 64 KB also works
            import fcntl

            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        pid = os.fork()
        if pid == 0:  # the worker: never returns into MkDocs
            os.close(read_end)
            _serve(write_end, uris, render)
        os.close(write_end)
        return cls(pid, os.fdopen(read_end, "rb", buffering=_PIPE_BYTES))

    def take(self, uri: str) -> RenderedPage | None:
        """The page the worker rendered, waiting for it if need be; None if the worker cannot give it."""
        while uri not in self._waiting:
            page = self._receive()
            if page is None:
                return None
            self._waiting[page[0]] = page[1]
        return self._waiting.pop(uri)

    def _receive(self) -> tuple[str, RenderedPage] | None:
        if self._pipe is None:
            return None
        header = self._pipe.read(_LENGTH.size)
        size = _LENGTH.unpack(header)[0] if len(header) == _LENGTH.size else 0
        body = self._pipe.read(size) if size else b""
        if not size or len(body) != size:  # the worker has sent every page, or died (perhaps mid-page)
            self.close()
            return None
        uri, html, headings, search, late = marshal.loads(body)
        return uri, RenderedPage(html, headings, search, late)

    def close(self) -> None:
        """Stop the worker if it still runs, and reap it."""
        if self._pipe is None:
            return
        self._pipe.close()
        self._pipe = None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._pid, 0)


def _serve(fd: int, uris: Iterable[str], render: Callable[[str], RenderedPage]) -> None:
    """The worker's life: render and send each page, then leave without running MkDocs' clean-up."""
    code = 1
    try:
        with os.fdopen(fd, "wb", buffering=_PIPE_BYTES) as out:
            for uri in uris:
                page = render(uri)
                body = marshal.dumps((uri, page.html, page.headings, page.search, page.late))
                out.write(_LENGTH.pack(len(body)))
                out.write(body)
                out.flush()
        code = 0
    except BaseException:  # the plugin renders what it did not get, and reports any error itself
        pass
    finally:
        os._exit(code)
