"""`Observation`: what a case saw, kept as JSON data for the report."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from incidentkb.plugin.observation import Observation, ObservationError


def multiply(a: list[list[float]], b: list[list[float]]) -> None:
    raise RuntimeError("expected m1 and m2 to have the same dtype, but got: double != float")


def test_catching_keeps_the_error_and_its_frames() -> None:
    observe = Observation()
    with observe.catching():
        multiply([[1.0]], [[2.0]])
    assert observe.error is not None
    assert observe.error.type == "builtins.RuntimeError"
    assert observe.error.message == "expected m1 and m2 to have the same dtype, but got: double != float"
    assert observe.error.frames == (
        f"{__name__}:test_catching_keeps_the_error_and_its_frames",
        f"{__name__}:multiply",
    )


def test_catching_without_an_error_leaves_none() -> None:
    observe = Observation()
    with observe.catching():
        pass
    assert observe.error is None


def test_catching_takes_assertion_errors_of_the_code_under_test_too() -> None:
    observe = Observation()
    with observe.catching():
        assert False, "a library's own assert"  # noqa: PT015, B011
    assert observe.error is not None and observe.error.type == "builtins.AssertionError"


def test_catching_lets_base_exceptions_through() -> None:
    observe = Observation()
    with pytest.raises(KeyboardInterrupt), observe.catching():
        raise KeyboardInterrupt
    assert observe.error is None


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (3, 3),
        (0.25, 0.25),
        ("torch.float64", "torch.float64"),
        ((16, 5), [16, 5]),
        ({"by_test": (1, 2)}, {"by_test": [1, 2]}),
        (None, None),
        (True, True),
    ],
)
def test_value_keeps_json_data(value: object, kept: object) -> None:
    observe = Observation()
    assert observe.value("x", value) is value  # returned as given, so it can be recorded where computed
    assert observe.values == {"x": kept}


@pytest.mark.parametrize("value", [object(), {1, 2}, math.nan, math.inf, b"bytes"])
def test_value_refuses_what_json_cannot_hold(value: object) -> None:
    with pytest.raises(ObservationError, match="'x' is not JSON data"):
        Observation().value("x", value)


def test_to_dict_and_from_dict_round_trip() -> None:
    observe = Observation()
    with observe.catching():
        raise ValueError("bad batch")
    observe.value("growth_per_call_bytes", 9897356)
    observe.note("measured with mallinfo2")
    again = Observation.from_dict(json.loads(json.dumps(observe.to_dict())))
    assert again == observe


def test_merge_takes_an_observation_from_a_subprocess() -> None:
    child = (
        "import json\n"
        "from incidentkb.plugin.observation import Observation\n"
        "observe = Observation()\n"
        "with observe.catching():\n"
        "    raise RuntimeError('The size of tensor a (2) must match the size of tensor b (4)')\n"
        "observe.value('train_batch_size', 4)\n"
        "print(json.dumps(observe.to_dict()))\n"
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout
    observe = Observation()
    observe.note("ran in a subprocess")
    observe.merge(json.loads(out))
    assert observe.error is not None
    assert observe.error.message == "The size of tensor a (2) must match the size of tensor b (4)"
    assert observe.values == {"train_batch_size": 4}
    assert observe.notes == ["ran in a subprocess"]


def test_merge_of_values_only_keeps_the_error() -> None:
    observe = Observation()
    with observe.catching():
        raise RuntimeError("kept")
    observe.merge({"values": {"gpus": 2}})
    assert observe.error is not None and observe.error.message == "kept"
    assert observe.values == {"gpus": 2}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"errors": None}, "unknown keys \\['errors'\\]"),
        ({"error": {"message": "no type"}}, "'error' needs 'type' and 'message'"),
        ({"error": "RuntimeError: text"}, "'error' needs 'type' and 'message'"),
        ({"values": {"x": math.nan}}, "'x' is not JSON data"),
    ],
)
def test_merge_refuses_malformed_dicts(data: dict, message: str) -> None:
    with pytest.raises(ObservationError, match=message):
        Observation().merge(data)
