"""What an answer left unset means, in one place: the wizard's defaults (a run made from
answers), or Axolotl's own (an imported config, which must train exactly as it did).

Every consequence of `defaults: wizard|axolotl` is a property here, and the code that renders,
fits and records a run asks it (`spec.policy.fills_recipes`, ...) instead of comparing the
answer's text, so what an import leaves alone is decided once.
"""

from typing import Literal

from wizard.records import Record

Defaults = Literal["wizard", "axolotl"]


class DefaultsPolicy(Record):
    defaults: Defaults

    @property
    def imported(self) -> bool:
        """The answers come from an Axolotl config (`new --from`)."""
        return self.defaults == "axolotl"

    @property
    def fills_recipes(self) -> bool:
        """An unset learning rate, batch, warmup, precision, attention or packing takes the
        recipe table's value; for an import, Axolotl's own default holds (nothing is written)."""
        return not self.imported

    @property
    def writes_opinions(self) -> bool:
        """The wizard's own choices (a tokenized-data cache, tf32, padding packed rows) are
        written; an import writes only the keys its answers give."""
        return not self.imported

    @property
    def records_every_answer(self) -> bool:
        """The answers file spells out every answer, defaults included, so a later wizard's
        defaults cannot change the run; an import's file keeps what its config gave."""
        return not self.imported

    @property
    def fits(self) -> bool:
        """Auto-fit chooses the batch layout and sharding nobody gave; an import trains as its
        config says (its estimate is still shown)."""
        return not self.imported

    @property
    def hardware_known(self) -> bool:
        """The hardware answers describe the run; an import names no GPUs unless told (the
        launch gives them)."""
        return not self.imported

    @property
    def fsdp_version(self) -> int | None:
        """The FSDP version a run without `distributed.fsdp_version` writes: 2 for the wizard;
        None for an import, whose config without it is FSDP1 to Axolotl."""
        return None if self.imported else 2
