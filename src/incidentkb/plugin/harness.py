"""The error a regression's self-check raises: kept apart so the plugin can tell it from news about the incident."""

from __future__ import annotations

__all__ = ["HarnessError"]


class HarnessError(Exception):
    """A self-check of the regression failed: the harness did not set up what the case is about.

    Not an AssertionError on purpose: a failed assertion is news about the incident (drift), a harness that did
    not do its own part is an error of the regression, and fails the run.
    """
