"""Display-name rules: blocked words as whole words, in any case or spelling out."""

import pytest

from shared.quiz.players import blocked_words, is_blocked

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("name", "blocked"),
    [
        ("Ann", False),
        ("Dickens", False),
        ("Scunthorpe", False),
        ("Class 3B", False),
        ("SHIT", True),
        ("the shit", True),
        ("ｓｈｉｔ", True),  # full-width letters fold to ASCII (NFKC)
        ("F.U.C.K", True),
        ("big f u c k", True),
        ("wanker_99", True),
    ],
)
def test_blocked_words_match_whole_words_in_any_case(name, blocked):
    assert is_blocked(name, blocked_words()) is blocked


def test_a_list_of_ones_own_replaces_the_built_in_one(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("# comment\nBroccoli  # trailing comment\n\n", encoding="utf-8")
    own = blocked_words(str(words))
    assert own == frozenset({"broccoli"})
    assert is_blocked("broccoli fan", own)
    assert not is_blocked("shit", own)
