"""A tokenized record as the model sees it: trained and masked tokens told apart, special tokens
marked, the role of each turn, and where `sequence_len` cuts it.

Three renderings of the same segments: ANSI colours on a terminal, brackets when the output is
piped (masked text in `[[...]]`, special tokens in `{{...}}`, a turn's role as `<<role>>`, the
cut as `||cut at sequence_len N||`), and a self-contained HTML page. The text is the data's:
every character a terminal would act on is written as a visible escape (`terminal.visible`, line
breaks kept), and the HTML escapes everything and loads nothing.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass

from wizard.preview.tokenized import TokenizedRecord
from wizard.terminal import visible

MASKED, TRAINED, SPECIAL, ROLE, CUT = "masked", "trained", "special", "role", "cut"
_ANSI = {
    TRAINED: "\x1b[1;32m",
    MASKED: "\x1b[2m",
    SPECIAL: "\x1b[35m",
    ROLE: "\x1b[1;36m",
    CUT: "\x1b[1;31m",
}
_RESET = "\x1b[0m"
_BRACKETS = {
    TRAINED: ("", ""),
    MASKED: ("[[", "]]"),
    SPECIAL: ("{{", "}}"),
    ROLE: ("<<", ">>"),
    CUT: ("||", "||"),
}
LEGEND = (
    "trained text as is, [[masked]], {{special token}}, <<role>> where a turn starts, "
    "||cut|| where sequence_len ends the record"
)


@dataclass(frozen=True)
class Segment:
    kind: str
    text: str
    trained: bool = False  # of a special token: whether it carries loss


def segments(
    record: TokenizedRecord, special: frozenset[int], cut: int | None
) -> Iterator[Segment]:
    """Runs of tokens of one kind, with a role marker where a turn starts and the cut marker."""
    starts = {turn.start: turn.role for turn in record.turns}
    trained = record.trained
    kind, text = "", ""
    for index, piece in enumerate(record.pieces):
        if index == cut or index in starts:
            if text:
                yield Segment(kind, text)
            kind, text = "", ""
            if index == cut:
                yield Segment(CUT, f"cut at sequence_len {cut}")
            if index in starts:
                yield Segment(ROLE, starts[index])
        if record.input_ids[index] in special:
            if text:
                yield Segment(kind, text)
            kind, text = "", ""
            yield Segment(SPECIAL, piece, trained[index])
            continue
        here = TRAINED if trained[index] else MASKED
        if here != kind and text:
            yield Segment(kind, text)
            text = ""
        kind, text = here, text + piece
    if text:
        yield Segment(kind, text)


def _special_text(segment: Segment) -> str:
    return segment.text + ("" if segment.trained else " (masked)")


def as_terminal(parts: list[Segment]) -> str:
    out = []
    for part in parts:
        text = _special_text(part) if part.kind == SPECIAL else part.text
        out.append(f"{_ANSI[part.kind]}{visible(text, keep=chr(10))}{_RESET}")
    return "".join(out)


def as_brackets(parts: list[Segment]) -> str:
    out = []
    for part in parts:
        opening, closing = _BRACKETS[part.kind]
        if part.kind == SPECIAL and not part.trained:
            opening, closing = "[[{{", "}}]]"
        out.append(f"{opening}{visible(part.text, keep=chr(10))}{closing}")
    return "".join(out)


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>axolotl-wizard preview</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>
body {{ font-family: sans-serif; margin: 2em; }}
pre {{ white-space: pre-wrap; border: 1px solid #ccc; padding: 0.5em; }}
.trained {{ background: #c8f7c5; }} .masked {{ color: #888; }}
.special {{ background: #e6d3f5; border-radius: 3px; }} .special.masked {{ background: #eee; }}
.role {{ color: #06c; font-weight: bold; }} .cut {{ color: #c00; font-weight: bold; }}
.error {{ color: #c00; }} .warning {{ color: #a60; }}
</style></head><body>
<p>Green: trained (carries loss). Grey: masked. Purple: special tokens.</p>
{body}
</body></html>
"""


def html_text(text: str) -> str:
    """Data text inside the page: escaped, and invisible controls written out."""
    return html.escape(visible(text, keep="\n\t"), quote=True)


def as_html(parts: list[Segment]) -> str:
    out = []
    for part in parts:
        classes = part.kind
        if part.kind == SPECIAL and not part.trained:
            classes += " masked"
        text = f"[{part.text}]" if part.kind == ROLE else part.text
        out.append(f'<span class="{classes}">{html_text(text)}</span>')
    return "<pre>" + "".join(out) + "</pre>"


def html_page(body: str) -> str:
    return _PAGE.format(body=body)
