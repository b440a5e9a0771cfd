"""The question list is data whose keys are spec fields."""

from __future__ import annotations

from wizard.answers.answer_keys import generic_key, known_keys
from wizard.interview.questions import field_info, load_questions, parse_answer


def test_every_question_key_is_a_spec_field() -> None:
    valid = known_keys()
    questions = [q for section in load_questions().sections for q in section.questions]
    referenced = {q.key for q in questions}
    referenced |= {key for q in questions for key in (*q.when, *q.unless, *q.clears)}
    unknown = sorted(key for key in referenced if generic_key(key) not in valid)
    assert unknown == []
    for key in referenced:
        field_info(key)  # the spec's own FieldInfo checks every answer at the prompt


def test_listed_choices_are_values_the_spec_accepts() -> None:
    for section in load_questions().sections:
        for question in section.questions:
            for choice in question.choices:
                kind = choice.value if question.key == "method.kind" else "lora"
                parse_answer(question.key, choice.value, kind)


def test_every_question_explains_itself_in_one_line() -> None:
    for section in load_questions().sections:
        for question in section.questions:
            assert question.help and "\n" not in question.help.strip()


def test_no_defaults_in_the_question_file() -> None:
    """Defaults live only in wizard/runspec.py; the question file has no field for them."""
    from wizard.interview.questions import QuestionDef

    assert "default" not in QuestionDef.model_fields
