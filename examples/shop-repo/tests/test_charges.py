import pytest

from shop.payments.charges import charge


def test_a_charge_keeps_its_amount():
    assert charge("c1", 500).amount_cents == 500


def test_a_charge_must_be_positive():
    with pytest.raises(ValueError):
        charge("c1", 0)
