from textkit.strings import shout, words


def test_shout_upper_cases_and_exclaims():
    assert shout("hello") == "HELLO!"


def test_words_splits_on_anything_but_letters_and_digits():
    assert words("Hello, wide world 42") == ["Hello", "wide", "world", "42"]
