"""What a regression case saw: the error it caught, the numbers it measured, and notes.

A case asserts what its record describes; the observation is the evidence the report keeps beside the outcome,
so a reader of the results sees the real message or the real numbers, not only "passed". Cases that run the
code under test in a subprocess (a fresh CUDA context, a different `CUDA_VISIBLE_DEVICES`) send their
observation back as a dict and `merge` it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from incidentkb.match.signatures import ErrorInfo
from incidentkb.plugin.harness import HarnessError

if TYPE_CHECKING:
    from incidentkb.records.schema import Measured

__all__ = ["Observation", "ObservationError", "HarnessError"]


class ObservationError(ValueError):
    """A value or a merged dict that cannot be kept in a JSON report."""


def _jsonable(name: str, value: Any) -> Any:
    """The value as plain JSON data; tuples become lists, non-finite floats are refused (JSON has none)."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ObservationError(
            f"observation value {name!r} is not JSON data ({exc}); record a str, number, bool, None, list or dict"
        ) from None
    return json.loads(text)


@dataclass
class Observation:
    """The evidence of one case, kept in the run's report.

    >>> obs = Observation()
    >>> with obs.catching():
    ...     raise RuntimeError("expected mat1 and mat2 to have the same dtype")
    >>> obs.error.message
    'expected mat1 and mat2 to have the same dtype'
    """

    error: ErrorInfo | None = None
    """The exception caught by `catching()`, if any."""
    values: dict[str, Any] = field(default_factory=dict)
    """Named measurements, JSON data only."""
    notes: list[str] = field(default_factory=list)

    @contextmanager
    def catching(self) -> Iterator[Observation]:
        """Run a block and keep the Exception it raises in `error` instead of letting it fail the case.

        Every Exception is caught, an AssertionError raised by a library included, so the case's own assertions
        belong after the block, where they judge `error`.
        """
        try:
            yield self
        except Exception as exc:  # noqa: BLE001 - the behaviour under test may raise anything
            info = ErrorInfo.from_exception(exc)
            # The traceback starts in this generator; that frame says nothing about the error.
            frames = tuple(f for f in info.frames if not f.startswith(f"{__name__}:"))
            self.error = replace(info, frames=frames)

    def value(self, name: str, value: Any) -> Any:
        """Record a measurement under `name` and return it, so it can be recorded where it is computed."""
        self.values[name] = _jsonable(name, value)
        return value

    def measured(self, measured: Measured | None, value: float) -> bool:
        """Record `value` as the record's measured quantity and say whether it shows the symptom.

        `measured` is the record's `symptom.measured` (from the `incident_record` fixture): the value is recorded
        under its `name` and compared as the record says, so a symptom case asserts
        `observe.measured(incident_record.symptom.measured, growth)` and a fix case asserts the opposite, both with
        the record's number. A record without `symptom.measured` is a harness error (the case measures what its
        record does not describe).

        >>> from incidentkb.records.schema import Measured
        >>> leak = Measured(quantity="memory left per call", name="growth_per_call_bytes", unit="bytes",
        ...                 comparison=">", threshold=262144, how="glibc in-use bytes around each call")
        >>> Observation().measured(leak, 9_900_000)
        True
        """
        if measured is None:
            raise HarnessError("observe.measured: the record has no symptom.measured to compare the value with")
        self.value(measured.name, value)
        return measured.shows_symptom(value)

    def require(self, condition: object, message: str) -> None:
        """A self-check of the harness (not a claim about the incident): raise `HarnessError(message)` when false.

        >>> Observation().require(True, "liger was not set")
        """
        if not condition:
            raise HarnessError(message)

    def note(self, text: str) -> None:
        """Record a sentence that explains a number or a choice made while observing."""
        self.notes.append(str(text))

    def merge(self, data: Mapping[str, Any]) -> None:
        """Take in an observation sent as a dict (`to_dict()` of another process's Observation).

        Keys the dict lacks are left as they are, so a subprocess may send only its values.
        """
        unknown = set(data) - {"error", "values", "notes"}
        if unknown:
            raise ObservationError(
                f"observation dict has unknown keys {sorted(unknown)}; expected error, values, notes"
            )
        error = data.get("error")
        if error is not None:
            try:
                self.error = ErrorInfo(
                    type=str(error["type"]), message=str(error["message"]), frames=tuple(error.get("frames", ()))
                )
            except (KeyError, TypeError, AttributeError):
                raise ObservationError(
                    "observation dict 'error' needs 'type' and 'message' (and optionally 'frames')"
                ) from None
        for name, value in dict(data.get("values") or {}).items():
            self.value(name, value)
        self.notes.extend(str(note) for note in data.get("notes") or ())

    def to_dict(self) -> dict[str, Any]:
        """The observation as the report stores it."""
        return {
            "error": self.error.to_dict() if self.error is not None else None,
            "values": dict(self.values),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Observation:
        observation = cls()
        observation.merge(data)
        return observation
