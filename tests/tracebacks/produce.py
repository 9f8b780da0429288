"""Write the tracebacks of tests/tracebacks/ that this machine can produce, by really running the code.

Each case is a small script run in a fresh interpreter; whatever Python prints to stderr is kept verbatim after
a header that says where it came from and which incident it must match (`# expect: <id>` or `# expect: nothing`).
Tracebacks from other versions and devices (the seed's, public issue reports, GPU runs) are written by hand
from their sources and are not touched here.

Run: .venv/bin/python tests/tracebacks/produce.py [NAME ...]   (an existing file is never overwritten)
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
DTYPE = "2025-04-12-stylegan-label-dtype-mismatch"
BATCH = "2025-04-21-llm-sft-batch-size-multi-gpu"


@dataclass(frozen=True)
class Case:
    name: str
    expect: str
    what: str
    script: str
    modules: dict[str, str] = field(default_factory=dict)
    """Extra files beside the script, so frames span more than one module as in a real project."""
    launcher: tuple[str, ...] = ()
    """Arguments before the script, e.g. torchrun's; its whole stderr is kept, log lines included."""


GENERATOR = """
import torch
from torch import nn


class LabelMapping(nn.Module):
    def __init__(self, label_size=5, dim=512):
        super().__init__()
        self.label_weight = nn.Parameter(torch.randn(label_size, dim))

    def forward(self, z, label):
        embedding = torch.matmul(label, self.label_weight)
        return torch.cat([z, embedding], dim=1)
"""

LABELS = """
import torch
from torch.utils.data import DataLoader, Dataset


class ScoreDataset(Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return {name: score for name, score in self.rows[i].items()}


def labels_of(batch):
    names = ["eyes", "hair_color", "hair_length", "mouth", "pose"]
    return torch.cat([batch[n] for n in names]).reshape(5, -1).T
"""

SCORES = """
from torch.utils.data import Dataset

NAMES = ["eyes", "hair_color", "hair_length", "mouth", "pose"]


class Scores(Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return {name: self.rows[i][name] for name in NAMES}
"""

TOKENIZER = """
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast


def tiny_tokenizer(**special):
    words = ["[UNK]", "[PAD]", "[EOS]", "hello", "world", "###", "Answer:", "yes", "no"]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", **special)
"""

SFT = """
import torch
from datasets import Dataset
from transformers import LlamaConfig, LlamaForCausalLM
from trl import SFTConfig, SFTTrainer

from tok import tiny_tokenizer


class OneReplicaLogits(LlamaForCausalLM):
    # What the multi-GPU run hands to trl: logits of one replica's share of the batch (per-device size 2).
    def forward(self, input_ids=None, attention_mask=None, labels=None, **kwargs):
        out = super().forward(input_ids=input_ids, attention_mask=attention_mask, labels=labels, **kwargs)
        out.logits = out.logits[:2]
        return out


def train(batch_size, output_dir):
    tok = tiny_tokenizer(pad_token="[PAD]", eos_token="[EOS]")
    config = LlamaConfig(vocab_size=16, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, pad_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    model = OneReplicaLogits(config)
    data = Dataset.from_dict({"text": ["hello world ### Answer: yes"] * 32})
    args = SFTConfig(output_dir=output_dir, per_device_train_batch_size=batch_size, max_steps=1,
                     report_to=[], use_cpu=True, logging_steps=1, save_strategy="no")
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok)
    trainer.train()
"""


def sft_case(name: str, batch: int, gpus: int) -> Case:
    return Case(
        name,
        BATCH,
        f"trl 0.15.2's SFTTrainer.train() on CPU with a batch of {batch} = 2 per device x {gpus} GPUs, the model "
        "returning the logits of one device's 2 rows, as the multi-GPU run does; the sizes in the message are the "
        f"ones a {gpus}-GPU run prints.",
        f"import tempfile\nfrom sft import train\n\nwith tempfile.TemporaryDirectory() as out:\n    train({batch}, out)\n",
        {"sft.py": SFT, "tok.py": TOKENIZER},
    )


CASES = [
    Case(
        "dtype-matmul-torch2.13-cpu",
        DTYPE,
        "float64 property scores from DataLoader's default collation, times a float32 nn.Parameter (torch.matmul).",
        """
        import torch
        from torch.utils.data import DataLoader
        from generator import LabelMapping
        from labels import ScoreDataset, labels_of

        rows = [{"eyes": 0.5, "hair_color": -1.2, "hair_length": 0.3, "mouth": 0.9, "pose": -0.4}] * 32
        mapping = LabelMapping()
        for batch in DataLoader(ScoreDataset(rows), batch_size=16):
            out = mapping(torch.randn(16, 512), labels_of(batch))
        """,
        {"generator.py": GENERATOR, "labels.py": LABELS},
    ),
    Case(
        "dtype-linear-bias-torch2.13-cpu",
        DTYPE,
        "the same float64 scores through nn.Linear (with bias): addmm words the same mismatch differently.",
        """
        import torch
        from torch import nn

        labels = torch.tensor([[-1.7069, -0.7809, 0.5124, -0.4403, 0.0337]] * 16)
        embed = nn.Linear(5, 512)
        embedding = embed(labels.double())
        """,
    ),
    Case(
        "dtype-torchrun-tee-torch2.13-cpu",
        DTYPE,
        "the same script launched by torchrun with 2 processes and --tee 3 (every worker line prefixed, the "
        "launcher's own ChildFailedError last).",
        """
        import torch
        from torch.utils.data import DataLoader
        from generator import LabelMapping
        from labels import ScoreDataset, labels_of

        rows = [{"eyes": 0.5, "hair_color": -1.2, "hair_length": 0.3, "mouth": 0.9, "pose": -0.4}] * 32
        mapping = LabelMapping()
        for batch in DataLoader(ScoreDataset(rows), batch_size=16):
            out = mapping(torch.randn(16, 512), labels_of(batch))
        """,
        {"generator.py": GENERATOR, "labels.py": LABELS},
        launcher=("-m", "torch.distributed.run", "--nproc_per_node=2", "--tee", "3"),
    ),
    sft_case("batch-size-2gpu-shapes-torch2.13-cpu", 4, 2),
    sft_case("batch-size-8gpu-shapes-torch2.13-cpu", 16, 8),
    Case(
        "unrelated-matmul-shapes",
        "nothing",
        "a Linear layer fed the wrong number of features.",
        """
        import torch
        from torch import nn

        head = nn.Linear(4, 512)
        head(torch.randn(16, 5))
        """,
    ),
    Case(
        "unrelated-broadcast-in-user-code",
        "nothing",
        "a plain broadcasting mismatch in a loss written by hand (the batch-size incident's message, not its frames).",
        """
        import torch

        def masked_accuracy(predictions, labels, mask):
            return ((predictions == labels) & mask).float().mean()

        masked_accuracy(torch.zeros(3, 7), torch.zeros(4, 7), torch.ones(4, 7, dtype=torch.bool))
        """,
    ),
    Case(
        "unrelated-cat-sizes",
        "nothing",
        "concatenating feature maps of different heights.",
        """
        import torch

        torch.cat([torch.zeros(16, 3, 64, 64), torch.zeros(16, 1, 32, 32)], dim=1)
        """,
    ),
    Case(
        "unrelated-view-size",
        "nothing",
        "reshaping a batch into a shape whose size does not divide it.",
        """
        import torch

        scores = torch.zeros(30)
        scores.view(16, -1)
        """,
    ),
    Case(
        "unrelated-dataloader-keyerror",
        "nothing",
        "a Dataset asked for a column it does not have, in a DataLoader worker process (re-raised with the "
        "original traceback in its message).",
        """
        from torch.utils.data import DataLoader
        from scores import Scores

        if __name__ == "__main__":
            rows = [{"eyes": 0.5, "hair_color": -1.2}] * 4
            for batch in DataLoader(Scores(rows), batch_size=2, num_workers=1):
                pass
        """,
        {"scores.py": SCORES},
    ),
    Case(
        "unrelated-tokenizer-no-pad-token",
        "nothing",
        "batch tokenization with padding by a tokenizer that has no padding token.",
        """
        from tok import tiny_tokenizer

        tok = tiny_tokenizer()
        tok(["hello", "hello world"], padding=True)
        """,
        {"tok.py": TOKENIZER},
    ),
    Case(
        "unrelated-tokenizer-ragged-tensors",
        "nothing",
        "asking for tensors of texts of different lengths without padding.",
        """
        from tok import tiny_tokenizer

        tok = tiny_tokenizer(pad_token="[PAD]")
        tok(["hello", "hello world"], return_tensors="pt")
        """,
        {"tok.py": TOKENIZER},
    ),
    Case(
        "unrelated-trainingarguments-strategies",
        "nothing",
        "TrainingArguments refusing load_best_model_at_end with different save and eval strategies.",
        """
        import tempfile
        from transformers import TrainingArguments

        with tempfile.TemporaryDirectory() as out:
            TrainingArguments(output_dir=out, eval_strategy="steps", save_strategy="epoch",
                              load_best_model_at_end=True, use_cpu=True, report_to=[])
        """,
    ),
    Case(
        "unrelated-sftconfig-packing",
        "nothing",
        "trl refusing packing without max_seq_length.",
        """
        import tempfile
        from datasets import Dataset
        from transformers import LlamaConfig, LlamaForCausalLM
        from trl import SFTConfig, SFTTrainer
        from tok import tiny_tokenizer

        tok = tiny_tokenizer(pad_token="[PAD]", eos_token="[EOS]")
        model = LlamaForCausalLM(LlamaConfig(vocab_size=16, hidden_size=16, intermediate_size=32,
                                             num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2))
        with tempfile.TemporaryDirectory() as out:
            args = SFTConfig(output_dir=out, packing=True, max_seq_length=None, report_to=[], use_cpu=True)
            SFTTrainer(model=model, args=args, train_dataset=Dataset.from_dict({"text": ["hello world"] * 4}),
                       processing_class=tok)
        """,
        {"tok.py": TOKENIZER},
    ),
    Case(
        "unrelated-cuda-not-compiled",
        "nothing",
        "moving a tensor to CUDA with a CPU-only build of torch.",
        """
        import torch

        labels = torch.zeros(16, 5)
        labels = labels.cuda()
        """,
    ),
    Case(
        "unrelated-embedding-index",
        "nothing",
        "a token id beyond the embedding's vocabulary.",
        """
        import torch
        from torch import nn

        embed = nn.Embedding(100, 16)
        embed(torch.tensor([[5, 99, 100]]))
        """,
    ),
    Case(
        "unrelated-nonfinite-grad-norm",
        "nothing",
        "clipping gradients that became infinite, with error_if_nonfinite.",
        """
        import torch
        from torch import nn

        layer = nn.Linear(5, 1)
        layer(torch.full((2, 5), 1e38)).pow(2).sum().backward()
        nn.utils.clip_grad_norm_(layer.parameters(), 1.0, error_if_nonfinite=True)
        """,
    ),
    Case(
        "unrelated-anomaly-nan",
        "nothing",
        "autograd's anomaly mode catching a NaN produced by a backward function.",
        """
        import torch

        with torch.autograd.detect_anomaly(check_nan=True):
            x = torch.tensor([0.0, 1.0], requires_grad=True)
            y = torch.sqrt(x) * 0
            y.sum().backward()
        """,
    ),
    Case(
        "unrelated-pickle-lambda",
        "nothing",
        "torch.save of a model holding a lambda.",
        """
        import io
        import torch
        from torch import nn

        model = nn.Linear(2, 2)
        model.score = lambda x: x.sum()
        torch.save(model, io.BytesIO())
        """,
    ),
    Case(
        "unrelated-nll-target-dtype",
        "nothing",
        "float class targets given to nll_loss (an 'expected scalar type' message about other types).",
        """
        import torch
        import torch.nn.functional as F

        log_probs = torch.randn(16, 5).log_softmax(dim=1)
        targets = torch.tensor([1.0] * 16)
        F.nll_loss(log_probs, targets)
        """,
    ),
    Case(
        "unrelated-half-matmul",
        "nothing",
        "a float16 activation times float32 weights (a dtype mismatch, but not float64 labels).",
        """
        import torch

        hidden = torch.randn(4, 8, dtype=torch.float16)
        weight = torch.randn(8, 8)
        torch.matmul(hidden, weight)
        """,
    ),
    Case(
        "unrelated-backward-without-grad",
        "nothing",
        "backward through outputs computed under torch.no_grad().",
        """
        import torch
        from torch import nn

        model = nn.Linear(5, 1)
        with torch.no_grad():
            loss = model(torch.randn(2, 5)).sum()
        loss.backward()
        """,
    ),
    Case(
        "unrelated-inplace-modified",
        "nothing",
        "an in-place update of a tensor autograd still needs.",
        """
        import torch

        w = torch.randn(3, requires_grad=True)
        y = w.sigmoid()
        y.mul_(2)
        y.sum().backward()
        """,
    ),
]


def header(case: Case) -> str:
    import torch

    versions = f"Python {platform.python_version()}, torch {torch.__version__}"
    try:
        import transformers
        import trl

        versions += f", transformers {transformers.__version__}, trl {trl.__version__}"
    except ImportError:
        pass
    lines = [
        f"# A real traceback, printed by {versions} on {platform.system()} (CPU only, no GPU).",
        f"# Produced by tests/tracebacks/produce.py, case {case.name!r}: {case.what}",
        f"# expect: {case.expect}",
    ]
    return "\n".join(textwrap.fill(line, 118, subsequent_indent="# ") for line in lines) + "\n\n"


def produce(case: Case) -> str:
    with tempfile.TemporaryDirectory(prefix="incidentkb-tb-") as folder:
        work = Path(folder)
        for name, text in case.modules.items():
            (work / name).write_text(textwrap.dedent(text).lstrip())
        script = work / "train.py"
        script.write_text(textwrap.dedent(case.script).lstrip())
        done = subprocess.run([sys.executable, *case.launcher, str(script)], cwd=work, capture_output=True, text=True,
                              timeout=300, env={"PYTHONWARNINGS": "ignore", "PATH": "/usr/bin:/bin",
                                                "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    if done.returncode == 0 or "Traceback" not in done.stderr:
        raise SystemExit(f"{case.name}: the script did not fail with a traceback:\n{done.stderr[-2000:]}")
    if case.launcher:
        return done.stderr
    return done.stderr[done.stderr.index("Traceback"):]


def main(names: list[str]) -> None:
    for case in CASES:
        if names and case.name not in names:
            continue
        target = HERE / f"{case.name}.txt"
        if target.exists():
            print(f"{target}: exists, kept")
            continue
        target.write_text(header(case) + produce(case))
        print(f"{target}: written")


if __name__ == "__main__":
    main(sys.argv[1:])
