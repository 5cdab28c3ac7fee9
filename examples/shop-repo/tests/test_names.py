from shop.profile.names import initials


def test_initials_are_upper_case():
    assert initials("ada", "lovelace") == "AL"
