"""Computed defaults: the effective batch from the answers so far, the GPU count nvidia-smi
sees, a sequence length that covers the data within the model's context."""

from __future__ import annotations

from wizard.answers.layers import Answers
from wizard.answers.placeholders import placeholder_layer
from wizard.axolotl.batch import sequences_per_step
from wizard.errors import WizardError
from wizard.interview.state import InterviewState, Offer
from wizard.runspec import RunSpec


def suggest(iv: InterviewState, name: str, key: str) -> Offer | None:
    if name == "effective_batch":
        accumulation = iv.value("training.gradient_accumulation_steps") or 1
        world = int(iv.value("hardware.gpus_per_node")) * int(iv.value("hardware.nodes"))
        micro = int(iv.value("training.micro_batch_size"))
        splits = [int(iv.value(f"distributed.{kind}_parallel_size") or 1)
                  for kind in ("context", "tensor")]  # fmt: skip
        return Offer(sequences_per_step(micro, accumulation, world, *splits), False)
    if name == "detected_gpu_count":
        return None if iv.detected is None else Offer(iv.detected.count)
    if name == "sequence_len":
        return _sequence_len(iv)
    if name == "host_ram":
        return _host_ram(iv)
    if name == "packing":
        packing = run_so_far(iv)
        return None if packing is None else Offer(packing.resolved_packing, False)
    raise KeyError(name)


def run_so_far(iv: InterviewState) -> RunSpec | None:
    """The run so far, placeholders standing in for the required answers not given yet."""
    layers = iv.answers.layers
    try:
        return Answers([*layers, placeholder_layer(layers)]).resolve()
    except WizardError:
        return None


def _host_ram(iv: InterviewState) -> Offer | None:
    """On the training machine itself (its GPUs detected), its RAM, recorded; elsewhere the
    default the answers give (a typical machine with the GPU), which Enter leaves unset."""
    if iv.detected is not None and iv.host_ram_gib is not None:
        return Offer(iv.host_ram_gib)
    spec = run_so_far(iv)
    ram = None if spec is None else spec.hardware.host_ram
    return None if ram is None else Offer(ram.gib, False)


def _sequence_len(iv: InterviewState) -> Offer | None:
    """Long enough for the longest sampled record (~4 characters a token), within the context."""
    longest = max((r.longest_chars for r in iv.sniffs.values()), default=0)
    if not longest:
        return None
    length = 512
    while length < longest / 4 and length < 32768:
        length *= 2
    if iv.arch is not None:
        length = min(length, iv.arch.max_positions)
    return Offer(length)
