"""The checkout contract (tests/support/checkouts_contract.py) on QA's `git` CLI clones."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from checkouts_contract import CheckoutContract
from wave_qa import CheckoutError, GitCheckout


class TestQAGitCheckout(CheckoutContract):
    @pytest.fixture
    def check_out(self, tmp_path: Path):
        checkout, numbers = GitCheckout(timeout_s=60), itertools.count()

        def into_scratch(location: str, commit: str) -> Path:
            dest = tmp_path / "scratch" / f"checkout-{next(numbers)}"
            dest.parent.mkdir(exist_ok=True)
            checkout(location, commit, dest)
            return dest

        return into_scratch

    @pytest.fixture
    def checkout_error(self) -> type[Exception]:
        return CheckoutError
