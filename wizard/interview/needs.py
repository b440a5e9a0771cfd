"""What calls for a question most runs never need (`calls_for:` in questions.yaml).

Context and tensor parallelism only help a run on several GPUs whose sequence or model is too
big for one GPU: the interview asks for them then, and leaves them to auto-fit (which chooses
context parallelism when nothing else fits) the rest of the time.
"""

from __future__ import annotations

from wizard.errors import WizardError
from wizard.interview.state import InterviewState
from wizard.interview.suggestions import run_so_far
from wizard.models import ModelArch, resolve_arch
from wizard.models.linears import total_params

# Where long-context fine-tuning starts: the 32k-128k-token runs users ask for (Axolotl #1972),
# whose activations outgrow a GPU at any layout without splitting the sequence.
LONG_SEQUENCE = 32768
# 16-bit weights, and QLoRA's 4-bit ones (half a byte, before their scales).
WEIGHT_BYTES = {"qlora": 0.5}
GIB = 1024**3


def calls_for(iv: InterviewState, name: str) -> bool:
    """Whether the run so far calls for the question: `long_sequence` (sequence_len of at least
    LONG_SEQUENCE tokens) or `model_over_gpu` (the weights alone fill one GPU), on several
    GPUs both."""
    spec = run_so_far(iv)
    if spec is None or spec.hardware.accelerator != "cuda" or spec.hardware.world_size < 2:
        return False
    if name == "long_sequence":
        return spec.training.sequence_len >= LONG_SEQUENCE
    if name == "model_over_gpu":
        arch, memory = iv.arch or _arch(spec.model.base_model), spec.hardware.memory_gib
        if arch is None or memory is None:
            return False
        each = WEIGHT_BYTES.get(spec.method.kind, 2.0)
        return total_params(arch) * each / GIB >= memory
    raise KeyError(name)


def _arch(model: str) -> ModelArch | None:
    """The model's architecture when the model question was not asked (a preset or --set gave
    it); None when it cannot be read here."""
    try:
        return resolve_arch(model)
    except WizardError:
        return None
