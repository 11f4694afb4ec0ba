"""The OpenAPI patterns of text fields say exactly what their validators accept."""

import re

import pytest
from marshmallow import ValidationError

from web.api.schemas import LINES_PATTERN, ONE_LINE_PATTERN, lines, not_blank, one_line

# every code point but the lone surrogates, which the patterns leave out (schemas.py)
CODE_POINTS = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def accepted(rule, text: str) -> bool:
    try:
        not_blank(text)
        rule(text)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("pattern", "rule"), [(ONE_LINE_PATTERN, one_line), (LINES_PATTERN, lines)]
)
def test_each_character_is_allowed_by_the_pattern_as_by_the_validator(pattern, rule):
    compiled = re.compile(pattern)
    # alone (is it blank?) and after a letter (is it allowed at all?)
    for text in (*CODE_POINTS, *("x" + ch for ch in CODE_POINTS)):
        assert bool(compiled.search(text)) == accepted(rule, text), ascii(text)


def test_a_final_newline_is_refused_on_one_line_whatever_the_regex_engine():
    assert not re.search(ONE_LINE_PATTERN, "Verbs\n")
    assert re.search(LINES_PATTERN, "Verbs\n")
