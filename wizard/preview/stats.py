"""The figures a plan needs, from the tokenized records: tokens per record, the share trained,
and with `sample_packing` how full the packed sequences are."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.preview.tokenized import TokenizedRecord


@dataclass(frozen=True)
class Stats:
    records: int
    shortest: int
    median: int
    p95: int
    longest: int
    trained_share: float  # trained tokens / all tokens, of the records as Axolotl keeps them
    packing_efficiency: float | None  # tokens / packed capacity, when the run packs

    def line(self) -> str:
        text = (
            f"tokens per record: min {self.shortest}, median {self.median}, p95 {self.p95}, "
            f"max {self.longest}; trained {self.trained_share:.0%} of the tokens"
        )
        if self.packing_efficiency is not None:
            text += f"; packed sequences {self.packing_efficiency:.0%} full"
        return f"{text} (of {self.records} record{'' if self.records == 1 else 's'})"


def percentile(values: list[int], share: float) -> int:
    """The nearest-rank percentile of sorted `values`."""
    rank = max(1, -(-len(values) * share // 1))  # ceil without floats drifting
    return values[int(rank) - 1]


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
    records: list[TokenizedRecord], sequence_len: int | None, packing: bool
) -> Stats | None:
    if not records:
        return None
    lengths = sorted(len(r.input_ids) for r in records)
    tokens = sum(lengths)
    trained = sum(sum(r.trained) for r in records)
    efficiency = packing_efficiency(lengths, sequence_len) if packing and sequence_len else None
    return Stats(
        len(records),
        lengths[0],
        percentile(lengths, 0.5),
        percentile(lengths, 0.95),
        lengths[-1],
        trained / tokens if tokens else 0.0,
        efficiency,
    )
