"""Hardware conditions: which of a case's GPU conditions (compute capability, memory) a cell's GPUs leave unmet."""

from __future__ import annotations

import pytest

from incidentkb.host.gpu_conditions import (
    ConditionError,
    GpuFacts,
    check_compute_capability,
    check_memory,
    hardware_note,
    memory_satisfies,
    shown_on,
    unmet,
)
from incidentkb.records.schema import Applicability
from incidentkb.results.runs import Host, Run
from incidentkb.verdict.judge import unmet_applicability

H100 = GpuFacts("NVIDIA H100 80GB HBM3", "9.0", 79.1)
T4 = GpuFacts("Tesla T4", "7.5", 14.6)
M6000 = GpuFacts("Quadro M6000", "5.2", 11.9)
OLD_RUN = GpuFacts("NVIDIA H100 80GB HBM3")  # a results file written before capability and memory were recorded


@pytest.mark.parametrize(
    ("gpus", "conditions", "expected"),
    [
        ([H100], {}, []),
        ([], {}, []),
        ([T4], {"compute_capability": "<8.0"}, []),
        ([M6000], {"compute_capability": "<8.0"}, []),
        ([H100], {"compute_capability": "<8.0"}, ["a GPU of compute capability <8.0 (the cell has NVIDIA H100 80GB HBM3: 9.0)"]),
        ([H100], {"compute_capability": ">=8.0"}, []),
        ([GpuFacts("B200", "10.0", 178.0)], {"compute_capability": ">=9.0"}, []),  # 10.0 is above 9.0, as versions
        ([], {"compute_capability": "<8.0"}, ["a GPU of compute capability <8.0 (the cell has no GPU)"]),
        ([OLD_RUN], {"compute_capability": "<8.0"},
         ["a GPU of compute capability <8.0 (the cell has NVIDIA H100 80GB HBM3: compute capability not recorded)"]),
        ([M6000], {"gpu_memory_gb": ">=12"}, ["a GPU of >=12 GiB (the cell has Quadro M6000: 11.9 GiB)"]),
        ([T4], {"gpu_memory_gb": ">=12"}, []),
        ([H100], {"gpu_memory_gb": "<16"}, ["a GPU of <16 GiB (the cell has NVIDIA H100 80GB HBM3: 79.1 GiB)"]),
        ([OLD_RUN], {"gpu_memory_gb": "<16"},
         ["a GPU of <16 GiB (the cell has NVIDIA H100 80GB HBM3: memory not recorded)"]),
        ([T4, H100], {"compute_capability": "<8.0"},  # every GPU the cell sees must meet it
         ["a GPU of compute capability <8.0 (the cell has NVIDIA H100 80GB HBM3: 9.0)"]),
        ([H100, H100], {"compute_capability": "<8.0"},
         ["a GPU of compute capability <8.0 (the cell has NVIDIA H100 80GB HBM3: 9.0)"]),  # said once
        ([H100], {"compute_capability": "<8.0", "gpu_memory_gb": "<16"},
         ["a GPU of compute capability <8.0 (the cell has NVIDIA H100 80GB HBM3: 9.0)",
          "a GPU of <16 GiB (the cell has NVIDIA H100 80GB HBM3: 79.1 GiB)"]),
    ],
)
def test_each_unmet_hardware_condition_is_named_with_what_the_cell_has(gpus, conditions, expected) -> None:
    assert unmet(gpus, **conditions) == expected


@pytest.mark.parametrize(
    ("memory", "specifier", "inside"),
    [(12.0, ">=12", True), (11.9, ">=12", False), (79.1, ">=12,<80", True), (79.1, "<40", False),
     (12.0, "==12", True), (12.0, "!=12", False), (12.1, ">12", True), (12.0, "<=12.0", True)],
)
def test_memory_compares_as_a_number_of_gib(memory: float, specifier: str, inside: bool) -> None:
    assert memory_satisfies(memory, specifier) is inside


@pytest.mark.parametrize("specifier", ["12", ">= twelve", "", ">=12GB", "~=12"])
def test_a_memory_range_that_is_not_one_is_refused_with_the_right_form(specifier: str) -> None:
    with pytest.raises(ConditionError, match=r"is not a memory range in GiB; write e.g. '>=12' or '<16'"):
        check_memory(specifier)


def test_a_compute_capability_that_is_not_a_range_is_refused_with_the_right_form() -> None:
    assert check_compute_capability(">=7.0,<8.0") == ">=7.0,<8.0"
    with pytest.raises(ConditionError, match=r"'eight' is not a version range; write e.g. '<8.0'"):
        check_compute_capability("eight")


def test_a_results_files_host_section_gives_the_gpus_it_recorded() -> None:
    """Read by the one reader of results files (`results.runs.Host`), not by the hardware conditions."""
    host = {"gpus": [{"name": "Tesla T4", "memory_gb": 14.6, "compute_capability": "7.5"}, "junk"], "gpu_count": 1}
    assert Host.from_dict(host).gpus == (T4,)
    assert Host.from_dict(None).gpus == ()


BF16 = Applicability(compute_capability="<8.0", why="the bf16 CUBLAS failure needs a card without native bf16")


@pytest.mark.parametrize(
    ("gpus", "hardware", "expected"),
    [
        (1, (T4,), []),
        (1, (H100,), ["a GPU of compute capability <8.0 (the cell has NVIDIA H100 80GB HBM3: 9.0)"]),
        (0, (T4,), ["a GPU of compute capability <8.0 (the cell has no GPU)"]),  # a CPU cell hides the card
        (1, (T4, H100), []),  # a one-GPU cell sees the first card only
    ],
)
def test_applies_when_names_the_hardware_it_needs(gpus: int, hardware: tuple, expected: list[str]) -> None:
    assert unmet_applicability(BF16, gpus, {}, hardware) == expected


def test_a_stored_run_is_judged_with_the_gpus_its_results_file_recorded() -> None:
    data = {"schema": 1, "cell": "torch=2.13.0 stack=4.51.3 gpus=1", "started": "x", "finished": "x",
            "axes": {"gpus": 1}, "versions": {},
            "host": {"gpus": [{"name": "NVIDIA H100 80GB HBM3", "memory_gb": 79.1, "compute_capability": "9.0"}]}}
    assert Run.from_dict(data).facts.hardware == (H100,)
    assert Run.from_dict({**data, "axes": {"gpus": 0}}).facts.hardware == ()


H200_OLD = GpuFacts("NVIDIA H200", None, 139.8)  # memory recorded, compute capability not


@pytest.mark.parametrize(
    ("gpus", "conditions", "shown"),
    [
        ([H100], {"compute_capability": "<8.0"}, False),
        ([H100, T4], {"compute_capability": "<8.0"}, True),  # one GPU the matrix has is enough
        ([H200_OLD], {"gpu_memory_gb": ">12"}, True),
        ([H200_OLD], {"compute_capability": "<8.0"}, None),  # unknown is not "too new"
        ([OLD_RUN], {"gpu_memory_gb": "<16"}, None),  # ... nor "too big"
        ([H200_OLD, H100], {"compute_capability": "<8.0"}, None),  # one known outside, one unknown: not known
        ([H200_OLD], {"compute_capability": "<8.0", "gpu_memory_gb": "<16"}, False),  # a recorded fact falls outside
        ([], {"gpu_memory_gb": ">12"}, None),  # no GPU recorded yet
    ],
)
def test_whether_a_gpu_the_matrix_has_can_show_the_case(gpus, conditions, shown) -> None:
    conditions = {"compute_capability": None, "gpu_memory_gb": None, **conditions}
    assert shown_on(gpus, conditions["compute_capability"], conditions["gpu_memory_gb"]) is shown


def test_the_note_check_and_the_page_share() -> None:
    assert hardware_note([H100], "<8.0", None, "no bf16") == (
        "verifiable on no cell of this matrix: needs a GPU of compute capability <8.0 (no bf16)")
    assert hardware_note([H200_OLD], "<8.0", None, "no bf16") == (
        "not yet run on a GPU that meets its conditions: needs a GPU of compute capability <8.0 (no bf16)")
    assert hardware_note([H200_OLD], None, ">12", "12 GB card") is None
