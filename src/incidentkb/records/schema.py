"""The incident record: one pydantic model, the single definition of what `incidents/<id>.yaml` holds.

Everything else (the validator's messages, the JSON Schema editors use, the schema reference page of the
site) is derived from these classes, so a field is added here and nowhere else. Nothing in it is specific to
one project: it must fit any ML-training incident.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Annotated, Literal, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pydantic_core import PydanticCustomError

from incidentkb.host.gpu_conditions import ConditionError, check_compute_capability, check_memory
from incidentkb.records.regex_risk import backtracks_exponentially

__all__ = [
    "ID_PATTERN",
    "CASE_ROLE_PATTERN",
    "CASE_NAME_PATTERN",
    "REGRESSION_PATH_PATTERN",
    "URL_PATTERN",
    "COMPUTE_CAPABILITY_PATTERN",
    "NO_FIX",
    "Severity",
    "Status",
    "Gpu",
    "Environment",
    "Signature",
    "Measured",
    "RelatedError",
    "PrintedObservation",
    "Symptom",
    "CodeChange",
    "FailedAttempt",
    "AlternativeFix",
    "Fix",
    "Reference",
    "Applicability",
    "RegressionCase",
    "Regression",
    "requirement_name",
    "Incident",
]

#: A readable slug: a date, then words, e.g. ``2025-04-12-stylegan-label-dtype-mismatch``.
ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
#: A case's role: the symptom, the fix (or an alternative fix, `fix:<id>`), or a failed attempt, `attempt:<id>`.
CASE_ROLE_PATTERN = r"^(symptom|smoke|fix(?::[a-z0-9]+(?:-[a-z0-9]+)*)?|attempt:[a-z0-9]+(?:-[a-z0-9]+)*)$"
#: The outcome words a record may expect of a case (see incidentkb.verdict.outcomes).
EXPECTED_OUTCOME_PATTERN = r"^(reproduces|no longer reproduces|changed|holds|still fails|now behaves differently|works)$"
#: A case is a test function; its file lies under regressions/; links are web addresses; a GPU's compute capability.
CASE_NAME_PATTERN = r"^test_\w+$"
REGRESSION_PATH_PATTERN = r"^regressions/[\w/.-]+\.py$"
URL_PATTERN = r"^https?://\S+$"
COMPUTE_CAPABILITY_PATTERN = r"^\d+\.\d+$"

#: What stands for the fix where an incident has none (the ORPO out-of-memory incident was given up on).
NO_FIX = "No fix known."

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
    """The operating system, e.g. `Windows 10` or `Ubuntu 22.04`."""
    python: Text
    """The Python version, e.g. `3.10.11`."""
    gpu: Optional[Gpu] = None
    """The GPUs; left out for a CPU-only machine (or, with `gpu_unknown: true`, when the log does not say)."""
    gpu_unknown: bool = False
    """True when the original log does not say which GPU, if any, was used: the page says "unknown", not "none"."""
    cuda: Optional[str] = None
    """CUDA version the libraries were built for, e.g. `12.4`."""
    libraries: dict[str, str] = Field(default_factory=dict)
    """Exact versions as pinned, e.g. `torch: 2.6.0+cu124`."""
    notes: list[Text] = Field(default_factory=list)
    """Anything else about the environment, e.g. a library that was installed but not pinned."""

    @model_validator(mode="after")
    def _gpu_known_or_not(self) -> "Environment":
        if self.gpu_unknown and self.gpu is not None:
            raise ValueError("environment has both `gpu` and `gpu_unknown: true`; keep `gpu` if the log names it")
        return self


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


class Successor(_Model):
    """A different error that newer versions raise for the same setup, e.g. a library that now refuses it up front.

    A symptom case that sees it is *changed*, never *reproduces*: the verdict says so in `note`'s words, and
    `incidentkb match` still finds the incident from it.
    """

    signature: Signature
    """The successor's error, matched as symptom signatures are."""
    note: Text
    """What changed, in words for the verdict, e.g. `trl 1.15 and newer refuse nn.DataParallel up front`."""


#: How a measured value is compared with the threshold: the symptom is `value <comparison> threshold`.
Comparison = Literal[">", ">=", "<", "<="]
#: A name a case records a value under (`observe.value(name, ...)`): a Python identifier.
VALUE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Measured(_Model):
    """A silent symptom's number: what the symptom case measures, and the threshold past which it is the symptom.

    For a symptom that raises nothing (memory that grows, a weight left random, outputs that differ between runs):
    the symptom case records the value with `observe.measured(incident_record.symptom.measured, value)`, which
    compares it with `threshold` and says whether it shows the symptom, so the case asserts with the record's
    number and the verdict on a stored run is judged against today's record.
    """

    quantity: Text
    """What is measured, in words, e.g. `memory left behind per image-test call`."""
    name: Annotated[str, StringConstraints(pattern=VALUE_NAME_PATTERN)]
    """The name the case records the value under (an `observe.value` name), e.g. `growth_per_call_bytes`."""
    unit: Text
    """e.g. `bytes`, `max abs difference`, `loss`."""
    comparison: Comparison
    """How the value compares with `threshold` when the symptom is there: `>`, `>=`, `<` or `<=`."""
    threshold: float
    """The number that makes it the symptom, e.g. `262144`; chosen far from what the fixed code measures."""
    how: Text
    """How the case measures it, e.g. `glibc's in-use bytes around each test call, 3 rounds after a warm-up`."""
    why_threshold: Optional[str] = None
    """Why this threshold: what the symptom and the fixed code measured when it was chosen."""

    def shows_symptom(self, value: float) -> bool:
        """True when `value` is on the symptom's side of the threshold.

        >>> Measured(quantity="q", name="n", unit="bytes", comparison=">", threshold=10, how="h").shows_symptom(11)
        True
        """
        return {
            ">": value > self.threshold,
            ">=": value >= self.threshold,
            "<": value < self.threshold,
            "<=": value <= self.threshold,
        }[self.comparison]

    @property
    def threshold_text(self) -> str:
        """The threshold as a reader reads it: `262,144`, `0.001`."""
        return f"{self.threshold:,.0f}" if float(self.threshold).is_integer() else f"{self.threshold:g}"

    @property
    def comparison_words(self) -> str:
        """`above`, `at or above`, `below` or `at or below`."""
        return {">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}[self.comparison]

    def sentence(self) -> str:
        """The symptom in words and numbers, e.g. `memory left behind per call above 262,144 bytes`."""
        return f"{self.quantity} {self.comparison_words} {self.threshold_text} {self.unit}"


class RelatedError(_Model):
    """An error that belongs to the incident but is not its symptom, e.g. what `strict=True` raises for the same
    checkpoint, or the error that a silent symptom turns into elsewhere.

    `incidentkb match` finds the incident from it and says "related error"; a symptom case that sees it is still
    judged by the symptom's own signatures or measurement.
    """

    signatures: list[Signature] = Field(min_length=1)
    """Patterns that identify the related error, matched as symptom signatures are."""
    error_text: Optional[str] = None
    """The error as observed, verbatim."""
    note: Text
    """How it relates to the incident, e.g. `what a strict load of the same checkpoint raises`."""
    case: Optional[str] = None
    """A regression case that observes it (a function name in `regression.path`), if one does."""


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
    successors: list[Successor] = Field(default_factory=list)
    """Different errors that newer versions raise for the same setup: a symptom case that sees one is *changed*."""
    measured: Optional[Measured] = None
    """For a silent symptom (no error): what the symptom case measures and the threshold that makes it the symptom."""
    related_errors: list[RelatedError] = Field(default_factory=list)
    """Errors that belong to the incident but are not the symptom (e.g. what a strict load of the same file raises)."""
    case: Optional[str] = None
    """The regression case that reproduces the symptom (a function name in `regression.path`)."""


class CodeChange(_Model):
    """Code before and after a change, as in the original source."""

    before: Text
    """The code as it was when the incident happened."""
    after: Text
    """The code after the change; the site shows it first."""
    language: str = "python"
    """The language of both snippets, for highlighting (a Pygments name: `python`, `bash`, `yaml`...)."""
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
    """The code before and after the attempt."""
    case: Optional[str] = None
    """The regression case that re-checks this attempt."""


class AlternativeFix(_Model):
    """Another fix that also works, e.g. the one the library's authors recommend."""

    id: Slug
    """Short slug; regression cases refer to it as `fix:<id>`."""
    summary: Text
    """The other fix, in a sentence."""
    explanation: Optional[str] = None
    """Why it works, and how it differs from the main fix."""
    code: Optional[CodeChange] = None
    """The code before and after this fix."""
    case: Optional[str] = None
    """The regression case that proves it."""


class Fix(_Model):
    summary: Text
    """One line: what fixed it."""
    explanation: Optional[str] = None
    """Why the fix works."""
    code: Optional[CodeChange] = None
    """The code before and after the fix."""
    commit: Optional[Annotated[str, StringConstraints(pattern=URL_PATTERN)]] = None
    """Link to the commit that applied the fix."""
    case: Optional[str] = None
    """The regression case that proves the fix holds."""
    alternatives: list[AlternativeFix] = Field(default_factory=list)
    """Other fixes that also work, each with an id a regression case can name (`fix:<id>`)."""


class Reference(_Model):
    title: Text
    """What the link is, in words."""
    url: Optional[Annotated[str, StringConstraints(pattern=URL_PATTERN)]] = None
    """Where it is (http or https)."""
    note: Optional[str] = None
    """e.g. the exact line referred to."""


class Applicability(_Model):
    """Where a case's claim can be shown at all; in any other cell its outcome is *not applicable*.

    Not what the case needs to run (that is its `needs` marker): a fix that limits the visible GPUs to one runs
    on a CPU, but it can only be shown to hold where several GPUs were visible to begin with.
    """

    gpus: int = Field(default=0, ge=0)
    """The fewest GPUs the cell must make visible, e.g. 2 for a bug that needs several GPUs."""
    versions: dict[str, str] = Field(default_factory=dict)
    """Version ranges the cell must have, e.g. `trl: "<1.15"`."""
    compute_capability: Optional[str] = None
    """The compute capability every GPU of the cell must have, a version range, e.g. `"<8.0"` for a card without
    native bf16 (an H100 is 9.0, a T4 7.5, an M6000 5.2). A cell without a GPU never meets it."""
    gpu_memory_gb: Optional[str] = None
    """The memory every GPU of the cell must have, in GiB as torch reports it, e.g. `">=12"` or `"<16"` (an "80 GB"
    H100 has 79.1 GiB). A cell without a GPU never meets it."""
    why: Text
    """Why the claim cannot be shown elsewhere; shown with every *not applicable*, and by `incidentkb check` for a
    case that no cell of the matrix can show (hardware the matrix does not have)."""

    @field_validator("compute_capability", "gpu_memory_gb")
    @classmethod
    def _hardware_range(cls, value: Optional[str], info: ValidationInfo) -> Optional[str]:
        check = check_compute_capability if info.field_name == "compute_capability" else check_memory
        try:
            return None if value is None else check(value)
        except ConditionError as exc:
            raise ValueError(str(exc)) from None

    @property
    def hardware(self) -> bool:
        """Whether it names the GPU itself (compute capability or memory), which the matrix cannot promise."""
        return bool(self.compute_capability or self.gpu_memory_gb)


class Expectation(_Model):
    """What the newest runs closest to the original environment show for a case, when it is not its role's word.

    `incidentkb check` compares it with the newest results of the cells closest to the original environment.
    """

    outcome: Annotated[str, StringConstraints(pattern=EXPECTED_OUTCOME_PATTERN)]
    """The outcome word those runs show, e.g. `now behaves differently`."""
    why: Text
    """Why it differs from the original run (e.g. the platform), and what is not re-run."""


class RegressionCase(_Model):
    name: Annotated[str, StringConstraints(pattern=CASE_NAME_PATTERN)]
    """The test function's name in `regression.path`."""
    role: Annotated[str, StringConstraints(pattern=CASE_ROLE_PATTERN)]
    """`symptom`, `fix`, `fix:<alternative fix id>`, `attempt:<failed attempt id>` or `smoke` (the setup works)."""
    applies_when: Optional[Applicability] = None
    """Where the case's claim can be shown; elsewhere it is *not applicable*."""
    expected: Optional[Expectation] = None
    """The outcome the runs closest to the original environment show, when it is not the role's own word."""


class Regression(_Model):
    path: Annotated[str, StringConstraints(pattern=REGRESSION_PATH_PATTERN)]
    """The pytest file, relative to the repository root."""
    cases: list[RegressionCase] = Field(min_length=1)
    """The test functions of the file, each with its role: `symptom`, `fix`, `fix:<id>`, `attempt:<id>` or `smoke`."""
    depends_on: list[Text] = Field(default_factory=lambda: ["torch"])
    """Which axes of the matrix matter: the libraries whose version can change the outcome; the matrix runs the
    incident only in cells that differ in them, and its page shows only those stacks. Left out: `[torch]`. `[]`:
    no library the matrix varies matters (the incident runs once per GPU count, and per version of what it
    `requires`). Not what to install: that is `requires`."""
    requires: list[Annotated[str, AfterValidator(lambda text: (requirement_name(text), text)[1])]] = Field(
        default_factory=list)
    """What to install beyond the matrix's stacks (torch, transformers, trl, ...), as PEP 508 requirements, e.g.
    `["albumentations"]` or `["albumentations>=1.3,<2"]`. Each package's versions become axes of this incident: a
    bare name runs at the version of `environment.libraries` and at the newest that installs with the cell's torch;
    a range at the newest inside it (and the original version when it is inside). Left out or `[]`: nothing beyond
    the stacks. Not which axes matter: that is `depends_on`."""

    @field_validator("requires")
    @classmethod
    def _requirements(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for text in value:
            name = requirement_name(text)  # each one already checked: only duplicates are left to find
            if name in seen:
                raise ValueError(f"'{name}' is required twice; keep one requirement per package")
            seen.add(name)
        return value


class Incident(_Model):
    """One incident of ML training: what broke, why, what was tried, what fixed it, and how to re-check it."""

    id: Slug
    """Equal to the file's stem."""
    title: Text
    """What went wrong, in English, in a line: the page's heading and what search shows."""
    title_original: Optional[str] = None
    """The title in the language the incident was first written in, verbatim."""
    original_language: Optional[str] = None
    """e.g. `ko`."""
    date: dt.date
    """When the incident happened (YYYY-MM-DD); the home table lists the newest first."""
    category: Text
    """The area it belongs to, e.g. `StyleGAN` or `LLM`: one page per category lists its incidents."""
    tags: list[Slug] = Field(default_factory=list)
    """Lower-case slugs, e.g. `memory-leak`, `no-grad`: one page per tag lists its incidents."""
    severity: Severity
    """How badly it hurt the work: `low`, `moderate`, `high` or `critical`."""
    severity_original: Optional[str] = None
    """The severity as the original log wrote it, e.g. `심각`."""
    status: Status
    """Where it stands for the people who hit it: `open`, `investigating`, `resolved` or `wontfix`."""
    project: Optional[str] = None
    """Where it happened, e.g. a project or repository name."""
    environment: Environment
    """The machine and library versions it first happened with."""
    symptom: Symptom
    """What was seen: the summary, the exact error text, and the signatures `incidentkb match` looks for."""
    cause: Text
    """Why it happened."""
    cause_notes: list[Text] = Field(default_factory=list)
    """Where the original explanation is incomplete or imprecise, what a reader should know."""
    failed_attempts: list[FailedAttempt] = Field(default_factory=list)
    """What was tried and did not work, each with why; a regression case may re-check one."""
    fix: Optional[Fix] = None
    """What fixed it, with the code before and after; the fix case of the regression proves it. Left out when no
    fix is known (an incident given up on, or still open): its pages then say "no fix known", and no case may
    have the role `fix`. A `resolved` incident must have one."""
    lessons: list[Text] = Field(default_factory=list)
    """What to do differently next time, in a sentence each."""
    facts: list[Text] = Field(default_factory=list)
    """Facts about the original code that the regression is faithful to."""
    references: list[Reference] = Field(default_factory=list)
    """Links: the original log, the fix commit, the library's issue or documentation."""
    regression: Regression
    """The pytest file that reproduces the symptom and proves the fix, and its cases."""

    @property
    def fix_summary(self) -> str:
        """The fix in a line, or `No fix known.` for an incident without one: what the pages and `match` show."""
        return self.fix.summary if self.fix is not None else NO_FIX

    @field_validator("fix", mode="before")
    @classmethod
    def _fix_written_is_not_empty(cls, value: object) -> object:
        """`fix:` with nothing under it is a fix left unwritten; "no fix known" is leaving the key out.

        Raised as pydantic's own `model_type` error, so the record's reader words it as for any empty mapping
        ("'fix' is empty; write its keys under 'fix:', at least summary"), at the line of `fix:`.
        """
        if value is None:
            raise PydanticCustomError("model_type", "Input should be a valid dictionary or instance of Fix")
        return value

    @model_validator(mode="after")
    def _resolved_has_fix(self, info: ValidationInfo) -> "Incident":
        unreadable = info.context.get("unreadable", ()) if info.context else ()
        if self.fix is None and self.status is Status.resolved and ("fix",) not in unreadable:
            raise ValueError("status is 'resolved' but the record has no `fix`; add the fix, or give the status "
                             "the log gives (open, investigating or wontfix)")
        return self


def requirement_name(text: str) -> str:
    """The canonical package name of a `requires` entry; a ValueError saying the right form when it is not PEP 508.

    >>> requirement_name("Albumentations>=1.3")
    'albumentations'
    """
    from packaging.requirements import InvalidRequirement, Requirement

    from incidentkb.host.versions import canonical_name

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        raise ValueError(f"{text!r} is not a PEP 508 requirement; write a name, e.g. 'albumentations', or a name "
                         "and a range, e.g. 'albumentations>=1.3,<2'") from None
    if requirement.url or requirement.marker:
        raise ValueError(f"{text!r}: write a name and a version range; a URL or environment marker cannot be an axis")
    return canonical_name(requirement.name)
