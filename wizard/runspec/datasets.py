"""A dataset's answers: where it is and how its records are laid out (Axolotl's `datasets:` entry).
The preference formats say what a record holds; which Axolotl dataset type reads them depends on
the objective and the chat template (`wizard.render.objective_config`)."""

# No `from __future__ import annotations` here: Pydantic would compile and evaluate the text
# of each field's annotation as it builds the models, 1.5% of `new --yes`.
from typing import Annotated, Any, Final, Literal

from pydantic import model_validator

from wizard.runspec.base import NOT_EMPTY, AnswerConflict, StrictModel, axolotl_name
from wizard.runspec.parts import ChatTemplateName

# `axolotl`: the dataset's own `axolotl:` keys say how Axolotl reads it (its `type` among them);
# what an imported config has when its dataset type is not one the wizard asks about.
# The preference formats: `preference` (a prompt with a chosen and a rejected answer),
# `unpaired_preference` (KTO: a prompt, a completion and a boolean label), `prompts` (GRPO).
DatasetFormat = Literal[
    "alpaca",
    "chat_template",
    "completion",
    "input_output",
    "axolotl",
    "preference",
    "unpaired_preference",
    "prompts",
]
PREFERENCE_FORMATS: Final = frozenset({"preference", "unpaired_preference", "prompts"})


# A dataset's answers that only chat_template data has.
CHAT_ONLY = ("roles_to_train", "train_on_eos", "chat_template", "roles", "drop_system_message")
# ... and those only preference data has.
PREFERENCE_ONLY = ("field_prompt", "field_chosen", "field_rejected", "conversations")
# The fields that only one format reads, as the validator below has them; the others (path,
# format, AS_GIVEN below, the dataset's own axolotl keys) belong to every format.
FORMAT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "chat_template": ("field_messages", "role_key", "content_key", *CHAT_ONLY),
    "preference": PREFERENCE_ONLY,
    "completion": ("text_field",),
    "axolotl": ("type",),
}
OF_SOME_FORMAT: Final = frozenset(name for names in FORMAT_FIELDS.values() for name in names)
# The answers of every format that are the entry's key of the same name, with the value as it is.
AS_GIVEN: Final = ("split", "name", "ds_type", "data_files", "trust_remote_code")


def other_formats_fields(dataset: dict[str, Any]) -> list[str]:
    """The fields of a dataset's answers that another format than its own reads."""
    own = FORMAT_FIELDS.get(str(dataset.get("format")), ())
    return [name for name in dataset if name in OF_SOME_FORMAT and name not in own]


class DatasetSpec(StrictModel):
    path: Annotated[str, NOT_EMPTY]
    """local file (jsonl, json, parquet, csv) or Hub id"""
    format: DatasetFormat
    """how records are laid out"""
    split: str | None = None
    """Hub dataset split; None means train"""
    name: str | None = None
    """Hub dataset configuration name"""
    ds_type: Annotated[str | None, NOT_EMPTY] = None
    """the file format (json, csv, parquet, …) when the path or its suffix does not say it"""
    data_files: str | list[str] | None = None
    """the files to read: inside the Hub dataset `path`, or local files (written as given:
    Axolotl reads them from the run folder)"""
    trust_remote_code: bool | None = None
    """run the Hub dataset's own loading code (only if you trust it)"""
    field_messages: str = "messages"
    """chat_template: the field holding the list of messages"""
    role_key: str = "role"
    """chat_template: the key of a message's role"""
    content_key: str = "content"
    """chat_template: the key of a message's text"""
    roles_to_train: list[str] | None = None
    """chat_template: the roles whose turns are trained on"""
    train_on_eos: axolotl_name("train_on_eos") | None = None  # type: ignore[valid-type]
    """chat_template: which end-of-turn tokens are trained on"""
    chat_template: ChatTemplateName | None = None
    """chat_template: this dataset's own template"""
    roles: dict[str, list[str]] | None = None
    """chat_template: {role: [names in the data]}"""
    drop_system_message: bool | None = None
    text_field: str = "text"
    """completion: the field holding the text"""
    field_prompt: str = "prompt"
    """preference: the prompt (a text or a list of messages)"""
    field_chosen: str = "chosen"
    """preference: the better answer"""
    field_rejected: str = "rejected"
    """preference: the worse answer"""
    conversations: bool = False
    """preference: chosen and rejected hold the whole conversation, prompt included (argilla
    style)"""
    type: str | dict[str, Any] | None = None
    """format axolotl: Axolotl's own dataset type (alpaca_chat.load_qa, chatml.intel, oasst,
    bradley_terry.chat_template, …) or a custom format mapping"""
    # Pydantic copies the default for each entry (see presets.store.PresetFile).
    axolotl: dict[str, Any] = {}  # noqa: RUF012
    """raw Axolotl keys of this dataset entry, passed through"""

    @model_validator(mode="after")
    def _mapping_only_for_its_format(self) -> "DatasetSpec":
        # Compared with the defaults (not "was it given") so a full answers-file dump reloads.
        chat = [
            name
            for name in ("field_messages", "role_key", "content_key", *CHAT_ONLY)
            if getattr(self, name) != DatasetSpec.model_fields[name].default
        ]
        if chat and self.format != "chat_template":
            raise AnswerConflict(
                f"{', '.join(chat)} only apply to format chat_template, not {self.format}; "
                "remove them or set format=chat_template",
                *chat,
                "format",
            )
        paired = [name for name in PREFERENCE_ONLY
                  if getattr(self, name) != DatasetSpec.model_fields[name].default]  # fmt: skip
        if paired and self.format != "preference":
            raise AnswerConflict(
                f"{', '.join(paired)} only apply to format preference, not {self.format}; "
                "remove them or set format=preference",
                *paired,
                "format",
            )
        if self.text_field != "text" and self.format != "completion":
            raise AnswerConflict(
                "text_field only applies to format completion; remove it", "text_field", "format"
            )
        if self.type is not None and self.format != "axolotl":
            raise AnswerConflict(
                f"type is Axolotl's own dataset type, for format axolotl; format {self.format} "
                "already says how the records are read: remove type or set format=axolotl",
                "type",
                "format",
            )
        return self
