"""Card charges, in cents."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Charge:
    charge_id: str
    amount_cents: int


def charge(charge_id: str, amount_cents: int) -> Charge:
    if amount_cents <= 0:
        raise ValueError("a charge must be positive")
    return Charge(charge_id, amount_cents)
