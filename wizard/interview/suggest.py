"""Computed defaults: the effective batch from the answers so far, the GPU count nvidia-smi
sees, a sequence length that covers the data within the model's context."""

from __future__ import annotations

from wizard.axolotl.batch import sequences_per_step
from wizard.interview.state import InterviewState, Offer


def suggest(iv: InterviewState, name: str, key: str) -> Offer | None:
    if name == "effective_batch":
        accumulation = iv.value("training.gradient_accumulation_steps") or 1
        world = int(iv.value("hardware.gpus_per_node")) * int(iv.value("hardware.nodes"))
        micro = int(iv.value("training.micro_batch_size"))
        return Offer(sequences_per_step(micro, accumulation, world), False)
    if name == "detected_gpu_count":
        return None if iv.detected is None else Offer(iv.detected.count)
    if name == "sequence_len":
        return _sequence_len(iv)
    raise KeyError(name)


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
