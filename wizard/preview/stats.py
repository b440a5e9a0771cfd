"""The figures a plan needs, from the tokenized records: tokens per record, the share trained,
with `sample_packing` how full the packed sequences are, and from them the optimizer steps of
one epoch over the whole file."""

from __future__ import annotations

import math
from dataclasses import dataclass

from wizard.preview.tokenized import TokenizedRecord

PACKED_RECORDS = 1_000  # records packed to estimate the steps of a packed epoch


@dataclass(frozen=True)
class Stats:
    records: int
    shortest: int
    median: int
    p95: int
    longest: int
    trained_share: float  # trained tokens / all tokens
    packing_efficiency: float | None  # tokens / packed capacity, when the run packs
    kept_share: float  # of the records: those Axolotl keeps (it drops the long ones by default)
    kept_lengths: tuple[int, ...]  # tokens of each kept record, after any cut

    def line(self) -> str:
        text = (
            f"tokens per record: min {self.shortest}, median {self.median}, p95 {self.p95}, "
            f"max {self.longest}; trained {self.trained_share:.0%} of the tokens"
        )
        if self.packing_efficiency is not None:
            text += f"; packed sequences {self.packing_efficiency:.0%} full"
        return f"{text} (of {self.records} record{'' if self.records == 1 else 's'})"

    def steps_per_epoch(self, records_in_file: int, batch: int, sequence_len: int | None) -> int:
        """Optimizer steps of one epoch over `records_in_file` records, `batch` sequences a
        step: one record a sequence, or packed ones with `sample_packing`."""
        kept = records_in_file * self.kept_share
        if self.packing_efficiency and sequence_len and self.kept_lengths:
            # A few records pack worse than many: pack the records shown, repeated, as many
            # times as the file would fill (up to PACKED_RECORDS), for the share of space used.
            count = min(PACKED_RECORDS, max(len(self.kept_lengths), round(kept)))
            lengths = [self.kept_lengths[i % len(self.kept_lengths)] for i in range(count)]
            mean = sum(self.kept_lengths) / len(self.kept_lengths)
            kept = kept * mean / (sequence_len * packing_efficiency(lengths, sequence_len))
        return math.ceil(kept / batch)


def percentile(values: list[int], share: float) -> int:
    """The nearest-rank percentile of sorted `values`."""
    return values[max(1, math.ceil(len(values) * share)) - 1]


def packing_efficiency(lengths: list[int], capacity: int) -> float:
    """First-fit decreasing of the records into sequences of `capacity` tokens (Axolotl's
    multipack sampler packs the same way, by length), as the share of the space they fill."""
    bins: list[int] = []
    for length in sorted((min(n, capacity) for n in lengths), reverse=True):
        for index, used in enumerate(bins):
            if used + length <= capacity:
                bins[index] += length
                break
        else:
            bins.append(length)
    return sum(bins) / (len(bins) * capacity) if bins else 0.0


def dataset_stats(
    records: list[TokenizedRecord], sequence_len: int | None, packing: bool, truncate: bool = False
) -> Stats | None:
    """The figures of `records`; a record longer than `sequence_len` is cut with `truncate`,
    else dropped (Axolotl's `excess_length_strategy`)."""
    if not records:
        return None
    lengths = sorted(len(r.input_ids) for r in records)
    limit = sequence_len or lengths[-1]
    kept = [min(n, limit) for n in lengths if truncate or n <= limit]
    tokens = sum(lengths)
    trained = sum(sum(r.trained) for r in records)
    efficiency = packing_efficiency(kept, limit) if packing and sequence_len and kept else None
    return Stats(
        len(records), lengths[0], percentile(lengths, 0.5), percentile(lengths, 0.95),
        lengths[-1], trained / tokens if tokens else 0.0, efficiency,
        len(kept) / len(records), tuple(kept),
    )  # fmt: skip
