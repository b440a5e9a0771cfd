"""The checks experts make by eye on tokenized records: which tokens carry loss, and which should.

Each check reads one dataset's records as Axolotl tokenized them (input ids, labels, turns) and
returns at most one finding for the dataset: a one-line message naming how many records it
concerns, and the fix. The classic mistakes (Axolotl issues #1761, #2089, #3754): nothing trained
or almost nothing (`train_on_inputs`, `roles_to_train`, a wrong field mapping), the end-of-turn
token of a trained turn masked (the model never learns to stop), turns of the wrong role trained,
a chat template other than the model's own or one that adds a second BOS, records longer than
`sequence_len`, empty records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wizard.preview.tokenized import TokenizedRecord, TokenizerFacts

FEW_TRAINED = 1  # at most this many trained tokens: an empty answer (its end token, at best)
# Turn-ending tokens by model family: ChatML (Qwen, many fine-tunes), Llama 3, Gemma, Phi-3,
# GPT-style. Only those the tokenizer has as one token count.
END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>")
END_TEXT_TOKENS = 12  # tokens that may spell one end-of-turn marker in a small vocabulary
INPUT_ROLES = ("system", "user", "tool")
ASSISTANT = "assistant"


@dataclass(frozen=True)
class Intent:
    """What the run asks for, as far as the checks need it."""

    sequence_len: int | None
    train_on_inputs: bool = False
    roles_to_train: tuple[str, ...] = (ASSISTANT,)
    excess: str = "drop"  # excess_length_strategy: drop, truncate or raise
    chat: bool = False  # the dataset renders through a chat template


@dataclass(frozen=True)
class DataProblem:
    severity: str  # "error" or "warning"
    message: str
    fix: str


Check = Callable[[list[TokenizedRecord], TokenizerFacts, Intent], "DataProblem | None"]


def _of(count: int, total: int, verbs: tuple[str, str]) -> str:
    """`1 of 5 records has`, `2 of 5 records have`: the verb agrees with the count."""
    noun = "record" if total == 1 else "records"
    return f"{count} of {total} {noun} {verbs[0] if count == 1 else verbs[1]}"


def nothing_trained(
    records: list[TokenizedRecord], facts: TokenizerFacts, _: Intent
) -> DataProblem | None:
    bare = sum(1 for r in records if not any(r.trained) and not _blank(r, facts))
    if not bare:
        return None
    return DataProblem(
        "error",
        f"{_of(bare, len(records), ('has', 'have'))} no trained token: they teach nothing",
        "check train_on_inputs, the dataset's roles_to_train and its field mapping "
        "(field_messages, message_property_mappings)",
    )


def few_trained(
    records: list[TokenizedRecord], _: TokenizerFacts, __: Intent
) -> DataProblem | None:
    few = sum(1 for r in records if 0 < sum(r.trained) <= FEW_TRAINED)
    if not few:
        return None
    return DataProblem(
        "warning",
        f"{_of(few, len(records), ('trains', 'train'))} {FEW_TRAINED} token at most "
        "(an empty answer?)",
        "check that the answer field is mapped (output, or the assistant's "
        "content) and not empty in the data",
    )


def end_token_masked(
    records: list[TokenizedRecord], facts: TokenizerFacts, _: Intent
) -> DataProblem | None:
    """An end token right after a trained token, itself masked: the turn's text is learned,
    not where it stops. The end is the EOS or a family's end-of-turn token, by id, or by its
    text where this tokenizer spells it in several tokens."""
    ends = set(facts.end_of_turn.values()) | ({facts.eos_id} if facts.eos_id is not None else set())
    hit = sum(1 for record in records if _masked_end(record, ends))
    if not hit:
        return None
    return DataProblem(
        "error",
        f"{_of(hit, len(records), ('masks', 'mask'))} the end-of-turn token of a trained "
        "turn: the model will not learn to stop",
        "set train_on_eos: turn (and eot_tokens to the template's turn-ending "
        "token), or use the model's own chat template",
    )


def _masked_end(record: TokenizedRecord, ends: set[int]) -> bool:
    trained = record.trained
    for i in range(1, len(record.input_ids)):
        if trained[i] or not trained[i - 1]:
            continue
        if record.input_ids[i] in ends:
            return True
        following = "".join(record.pieces[i : i + END_TEXT_TOKENS]).lstrip()
        if following.startswith(END_OF_TURN):
            return True
    return False


def wrong_roles(
    records: list[TokenizedRecord], _: TokenizerFacts, intent: Intent
) -> DataProblem | None:
    """Turns trained that the run does not ask to train, or masked that it does."""
    meant = {*INPUT_ROLES, ASSISTANT} if intent.train_on_inputs else set(intent.roles_to_train)
    trained_wrongly: set[str] = set()
    masked_wrongly: set[str] = set()
    for record in records:
        trained = record.trained
        for turn in record.turns:
            any_trained = any(trained[turn.start : turn.end])
            if any_trained and turn.role not in meant:
                trained_wrongly.add(turn.role)
            elif not any_trained and turn.role in meant and turn.end > turn.start:
                masked_wrongly.add(turn.role)
    if trained_wrongly:
        roles = ", ".join(sorted(trained_wrongly))
        return DataProblem(
            "warning",
            f"{roles} turns are trained, though the run trains only "
            f"{', '.join(sorted(meant)) or 'no role'}",
            "check the dataset's roles_to_train, train_on_inputs and the turns' `training` fields",
        )
    if masked_wrongly:
        roles = ", ".join(sorted(masked_wrongly))
        return DataProblem(
            "warning",
            f"{roles} turns are all masked, though the run asks to train them",
            "check the role mapping (message_property_mappings, roles) and "
            "the turns' `training` fields",
        )
    return None


def foreign_template(
    _: list[TokenizedRecord], facts: TokenizerFacts, intent: Intent
) -> DataProblem | None:
    if not intent.chat or facts.own_template is None or facts.used_template is None:
        return None
    if facts.own_template.strip() == facts.used_template.strip():
        return None
    return DataProblem(
        "warning",
        "the run's chat template is not the model's own: a chat model "
        "fine-tuned in another format forgets its own",
        "chat_template: tokenizer_default, unless you mean to teach a new format "
        "(then keep it for inference too)",
    )


def double_bos(
    records: list[TokenizedRecord], facts: TokenizerFacts, _: Intent
) -> DataProblem | None:
    bos = facts.bos_id
    twice = sum(1 for r in records if bos is not None and r.input_ids[:2] == [bos, bos])
    if not twice:
        return None
    return DataProblem(
        "error",
        f"{_of(twice, len(records), ('starts', 'start'))} with BOS twice (the chat template "
        "writes one and the tokenizer adds another)",
        "use a template without `{{ bos_token }}`, or the model's own "
        "(chat_template: tokenizer_default)",
    )


def too_long(
    records: list[TokenizedRecord], _: TokenizerFacts, intent: Intent
) -> DataProblem | None:
    limit = intent.sequence_len
    if not limit:
        return None
    long = [r for r in records if len(r.input_ids) > limit]
    if not long:
        return None
    lost = sum(sum(r.trained[limit:]) for r in long)
    if intent.excess == "truncate":
        fate = f"cut at {limit}: {lost} trained tokens lost"
    elif intent.excess == "raise":
        fate = "Axolotl stops on them (excess_length_strategy: raise)"
    else:
        lost = sum(sum(r.trained) for r in long)
        fate = f"dropped whole: {lost} trained tokens lost"
    longest = max(len(r.input_ids) for r in long)
    return DataProblem(
        "warning",
        f"{_of(len(long), len(records), ('is', 'are'))} longer than sequence_len "
        f"{limit} (the longest {longest} tokens), {fate}",
        f"raise sequence_len to {longest} or more, or shorten those records",
    )


def empty(records: list[TokenizedRecord], facts: TokenizerFacts, _: Intent) -> DataProblem | None:
    blank = sum(1 for r in records if _blank(r, facts))
    if not blank:
        return None
    return DataProblem(
        "error",
        f"{_of(blank, len(records), ('is', 'are'))} empty (special tokens at most)",
        "check the field mapping, or remove the empty records from the data",
    )


def _blank(record: TokenizedRecord, facts: TokenizerFacts) -> bool:
    return all(token in facts.special_ids for token in record.input_ids)


CHECKS: tuple[Check, ...] = (
    empty,
    nothing_trained,
    few_trained,
    end_token_masked,
    wrong_roles,
    double_bos,
    foreign_template,
    too_long,
)


def check_dataset(
    records: list[TokenizedRecord], facts: TokenizerFacts, intent: Intent
) -> list[DataProblem]:
    found = [check(records, facts, intent) for check in CHECKS]
    return [finding for finding in found if finding is not None]
