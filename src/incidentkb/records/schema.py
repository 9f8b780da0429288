"""The incident record: one pydantic model, the single definition of what `incidents/<id>.yaml` holds.

Everything else (the validator's messages, the JSON Schema editors use, the schema reference page of the
site) is derived from these classes, so a field is added here and nowhere else. Nothing in it is specific to
one project: it must fit any ML-training incident.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Annotated, Optional

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from incidentkb.records.regex_risk import backtracks_exponentially

__all__ = [
    "ID_PATTERN",
    "CASE_ROLE_PATTERN",
    "CASE_NAME_PATTERN",
    "REGRESSION_PATH_PATTERN",
    "URL_PATTERN",
    "COMPUTE_CAPABILITY_PATTERN",
    "Severity",
    "Status",
    "Gpu",
    "Environment",
    "Signature",
    "PrintedObservation",
    "Symptom",
    "CodeChange",
    "FailedAttempt",
    "AlternativeFix",
    "Fix",
    "Reference",
    "RegressionCase",
    "Regression",
    "Incident",
]

#: A readable slug: a date, then words, e.g. ``2025-04-12-stylegan-label-dtype-mismatch``.
ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
#: A case's role: the symptom, the fix (or an alternative fix, `fix:<id>`), or a failed attempt, `attempt:<id>`.
CASE_ROLE_PATTERN = r"^(symptom|fix(?::[a-z0-9]+(?:-[a-z0-9]+)*)?|attempt:[a-z0-9]+(?:-[a-z0-9]+)*)$"
#: A case is a test function; its file lies under regressions/; links are web addresses; a GPU's compute capability.
CASE_NAME_PATTERN = r"^test_\w+$"
REGRESSION_PATH_PATTERN = r"^regressions/[\w/.-]+\.py$"
URL_PATTERN = r"^https?://\S+$"
COMPUTE_CAPABILITY_PATTERN = r"^\d+\.\d+$"

Text = Annotated[str, StringConstraints(min_length=1)]
Slug = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


class _Model(BaseModel):
    """Base of every record part: unknown keys are errors, so a typo never goes unnoticed; numbers are finite."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True, allow_inf_nan=False)


class Severity(str, Enum):
    """How badly the incident stopped work. The original log's 심각 maps to `critical`, 보통 to `moderate`."""

    critical = "critical"
    high = "high"
    moderate = "moderate"
    low = "low"


class Status(str, Enum):
    """Where the incident stands for the people who hit it (not whether the regression still reproduces it)."""

    open = "open"
    investigating = "investigating"
    resolved = "resolved"
    wontfix = "wontfix"


class Gpu(_Model):
    model: Text
    """Marketing name as `nvidia-smi` prints it, e.g. `NVIDIA Quadro M6000`."""
    count: int = Field(ge=0)
    """How many of them the machine had."""
    memory_gb: Optional[float] = Field(default=None, gt=0)
    """Memory of one card, in GB."""
    architecture: Optional[str] = None
    """e.g. `Maxwell`, `Hopper`."""
    compute_capability: Optional[str] = Field(default=None, pattern=COMPUTE_CAPABILITY_PATTERN)
    """e.g. `5.2`."""


class Environment(_Model):
    """The environment where the incident originally happened."""

    os: Text
    python: Text
    gpu: Optional[Gpu] = None
    """None for a CPU-only machine."""
    cuda: Optional[str] = None
    """CUDA version the libraries were built for, e.g. `12.4`."""
    libraries: dict[str, str] = Field(default_factory=dict)
    """Exact versions as pinned, e.g. `torch: 2.6.0+cu124`."""
    notes: list[Text] = Field(default_factory=list)
    """Anything else about the environment, e.g. a library that was installed but not pinned."""


class Signature(_Model):
    """A pattern that identifies this incident's error in someone else's traceback.

    All given parts must match. Patterns are Python regular expressions, searched (not anchored) in the
    traceback after numbers, paths and addresses have been normalised away.
    """

    exception: Optional[str] = None
    """The exception's class name, e.g. `RuntimeError` or `torch.OutOfMemoryError` (last dotted part compared)."""
    message: Text
    """Regular expression searched in the exception's message; a repeated repeat such as `(a+)+` is refused."""
    frames: list[Text] = Field(default_factory=list)
    """Frames that must appear in the traceback, as `module:function`, e.g. `trl.trainer.sft_trainer:compute_loss`."""
    note: Optional[str] = None
    """Which versions or devices word the error this way."""

    @field_validator("message")
    @classmethod
    def _compiles(cls, value: str, info: ValidationInfo) -> str:
        if info.context and info.context.get("check_patterns") is False:
            return value  # a reader that never matches (the site) leaves patterns to `incidentkb check`
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(
                f"signature pattern does not compile ({exc}); escape characters such as ( ) [ ] . * + ? with a "
                "backslash"
            ) from None
        if backtracks_exponentially(value):
            raise ValueError(
                "signature pattern repeats a repeat (like `(a+)+`), which takes hours on a long run of one "
                "character; drop a quantifier or make the inner one possessive (`a++`)"
            )
        return value


class PrintedObservation(_Model):
    """Something printed while investigating, kept exactly as printed (e.g. a tensor's repr)."""

    label: Text
    """What was printed, e.g. `label (the property-score vector)`."""
    text: Text
    """The printed text, verbatim."""


class Symptom(_Model):
    summary: Text
    """One line: what the user saw."""
    error_text: Optional[str] = None
    """The exact error text or traceback as recorded, verbatim (paths and line numbers included)."""
    observations: list[PrintedObservation] = Field(default_factory=list)
    """Values printed while investigating."""
    signatures: list[Signature] = Field(default_factory=list)
    """Patterns that identify this error elsewhere; several when versions or devices word it differently."""
    case: Optional[str] = None
    """The regression case that reproduces the symptom (a function name in `regression.path`)."""


class CodeChange(_Model):
    """Code before and after a change, as in the original source."""

    before: Text
    after: Text
    language: str = "python"
    file: Optional[str] = None
    """The file the change was made in, as named in the original project."""


class FailedAttempt(_Model):
    id: Slug
    """Short slug naming the attempt; regression cases refer to it as `attempt:<id>`."""
    tried: Text
    """What was tried."""
    why_failed: Text
    """Exactly why it did not fix the problem."""
    error_text: Optional[str] = None
    """The error the attempt produced, verbatim, if it produced one."""
    code: Optional[CodeChange] = None
    case: Optional[str] = None
    """The regression case that re-checks this attempt."""


class AlternativeFix(_Model):
    """Another fix that also works, e.g. the one the library's authors recommend."""

    id: Slug
    """Short slug; regression cases refer to it as `fix:<id>`."""
    summary: Text
    explanation: Optional[str] = None
    code: Optional[CodeChange] = None
    case: Optional[str] = None
    """The regression case that proves it."""


class Fix(_Model):
    summary: Text
    """One line: what fixed it."""
    explanation: Optional[str] = None
    """Why the fix works."""
    code: Optional[CodeChange] = None
    commit: Optional[Annotated[str, StringConstraints(pattern=URL_PATTERN)]] = None
    """Link to the commit that applied the fix."""
    case: Optional[str] = None
    """The regression case that proves the fix holds."""
    alternatives: list[AlternativeFix] = Field(default_factory=list)


class Reference(_Model):
    title: Text
    url: Optional[Annotated[str, StringConstraints(pattern=URL_PATTERN)]] = None
    note: Optional[str] = None
    """e.g. the exact line referred to."""


class RegressionCase(_Model):
    name: Annotated[str, StringConstraints(pattern=CASE_NAME_PATTERN)]
    """The test function's name in `regression.path`."""
    role: Annotated[str, StringConstraints(pattern=CASE_ROLE_PATTERN)]
    """`symptom`, `fix`, `fix:<alternative fix id>` or `attempt:<failed attempt id>`."""


class Regression(_Model):
    path: Annotated[str, StringConstraints(pattern=REGRESSION_PATH_PATTERN)]
    """The pytest file, relative to the repository root."""
    cases: list[RegressionCase] = Field(min_length=1)
    depends_on: list[Text] = Field(default_factory=lambda: ["torch"])
    """The libraries whose version can change the outcome; the matrix runs only cells that differ in them."""


class Incident(_Model):
    """One incident of ML training: what broke, why, what was tried, what fixed it, and how to re-check it."""

    id: Slug
    """Equal to the file's stem."""
    title: Text
    title_original: Optional[str] = None
    """The title in the language the incident was first written in, verbatim."""
    original_language: Optional[str] = None
    """e.g. `ko`."""
    date: dt.date
    category: Text
    tags: list[Slug] = Field(default_factory=list)
    severity: Severity
    severity_original: Optional[str] = None
    """The severity as the original log wrote it, e.g. `심각`."""
    status: Status
    project: Optional[str] = None
    """Where it happened, e.g. a project or repository name."""
    environment: Environment
    symptom: Symptom
    cause: Text
    """Why it happened."""
    cause_notes: list[Text] = Field(default_factory=list)
    """Where the original explanation is incomplete or imprecise, what a reader should know."""
    failed_attempts: list[FailedAttempt] = Field(default_factory=list)
    fix: Fix
    lessons: list[Text] = Field(default_factory=list)
    facts: list[Text] = Field(default_factory=list)
    """Facts about the original code that the regression is faithful to."""
    references: list[Reference] = Field(default_factory=list)
    regression: Regression
