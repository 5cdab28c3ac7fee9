"""Domain tables: what a file may say, which domain a task lands in, and how two domains combine."""

from __future__ import annotations

import pytest
from wave_events.domains import (
    DEFAULT_TABLE,
    DomainPolicyError,
    assign,
    delivery_of,
    matches,
    parse_table,
    strictest,
)

TABLE = """
[[domain]]
name = "payments"
paths = ["src/payments/**", "**/billing.py"]
merge_policy = "human"
allow_threshold = 0.9
block_threshold = 0.5
retry_limit = 1
budget_share = 0.4
approvers = ["ana", "bo"]

[[domain]]
name = "ui"
paths = ["web/**"]
merge_policy = "model"
approvers = ["bo"]
"""


def test_a_table_file_is_read_with_its_settings():
    table = parse_table(TABLE, ".wave/domains.toml@abc")
    payments = table.get("payments")
    assert table.names == ("payments", "ui") and table.source == ".wave/domains.toml@abc"
    assert payments is not None and payments.merge_policy == "human" and payments.retry_limit == 1
    assert payments.budget_share == 0.4 and payments.approvers == ("ana", "bo")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[domain]]\nname = 'x'\nallow_threshold = 1.5\n", "f: domain 'x': allow_threshold: Input should be less than or equal to 1"),
        ("[[domain]]\nname = 'x'\nmerge_policy = 'maybe'\n", "f: domain 'x': merge_policy: Input should be 'auto', 'model' or 'human'"),
        ("[[domain]]\nname = 'x'\ncolour = 'red'\n", "f: domain 'x': colour: is not a domain setting"),
        ("[[domain]]\nname = 'x'\ndelivery = 'mail'\n", "f: domain 'x': delivery: Input should be 'local' or 'pr'"),
        ("[[domain]]\nname = 'x'\nallow_threshold = 0.4\nblock_threshold = 0.6\n",
         "f: domain 'x': block_threshold (0.6) must not be above allow_threshold (0.4)"),
        ("[[domain]]\nname = 'x'\n[[domain]]\nname = 'x'\n", "f: domain 'x' is defined twice"),
        ("[[domain]]\npaths = ['a/**']\n", "f: domain #1: name: Field required"),
        ("domains = 1\n", "f: unknown key 'domains'; a domain table holds [[domain]] entries"),
        ("[[domain]\n", "f: not valid TOML"),
        ("", "f: no [[domain]] entry"),
    ],
)
def test_a_table_that_cannot_be_used_is_one_line_naming_the_problem(text, message):
    with pytest.raises(DomainPolicyError) as raised:
        parse_table(text, "f")
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_the_defaults_are_the_six_domains_with_payments_and_auth_reviewed_by_people():
    assert DEFAULT_TABLE.names == ("auth", "payments", "profile", "api", "ui", "data")
    for name in ("auth", "payments"):
        policy = DEFAULT_TABLE.get(name)
        assert policy is not None and policy.merge_policy == "human"
        assert policy.allow_threshold > DEFAULT_TABLE.get("api").allow_threshold  # type: ignore[union-attr]
        assert policy.block_threshold > DEFAULT_TABLE.get("api").block_threshold  # type: ignore[union-attr]


def test_globs_cross_directories_only_with_two_stars():
    assert matches("**/payments/**", "shop/payments/refunds.py")
    assert matches("**/payments/**", "payments/refunds.py")
    assert matches("web/*.css", "web/site.css") and not matches("web/*.css", "web/a/site.css")


def test_the_model_proposes_and_the_paths_decide():
    table = parse_table(TABLE, "f")
    # The proposal agrees with the paths: it stands.
    assert assign(table, "payments", ["src/payments/charge.py"]) == ("payments", ("payments",))
    # A wrong or missing proposal: the paths decide.
    assert assign(table, "ui", ["src/payments/charge.py"]) == ("payments", ("payments",))
    assert assign(table, "", ["web/index.html"]) == ("ui", ("ui",))
    # Nothing matches: a known proposal stands, an unknown one is kept with no policy, none is general.
    assert assign(table, "ui", ["README.md"]) == ("ui", ("ui",))
    assert assign(table, "library", ["README.md"]) == ("library", ())
    assert assign(table, "", ["README.md"]) == ("general", ())


def test_a_task_touching_two_domains_takes_the_stricter_policy():
    table = parse_table(TABLE, "f")
    domain, touched = assign(table, "ui", ["web/checkout.html", "src/payments/charge.py"])
    assert (domain, touched) == ("payments", ("ui", "payments"))
    combined = strictest([table.get(n) for n in touched])  # type: ignore[misc]
    assert combined is not None
    assert combined.merge_policy == "human" and combined.allow_threshold == 0.9 and combined.retry_limit == 1
    assert combined.budget_share == 0.4
    assert combined.approvers == ("bo",)  # only who both domains accept


def test_a_pull_request_delivery_wins_over_a_local_one_and_a_domain_that_says_none():
    table = parse_table(
        "[[domain]]\nname = 'a'\ndelivery = 'local'\n[[domain]]\nname = 'b'\ndelivery = 'pr'\n[[domain]]\nname = 'c'\n", "f"
    )
    a, b, c = (table.get(n) for n in ("a", "b", "c"))
    assert delivery_of([a, c]) == "local" and delivery_of([a, b, c]) == "pr" and delivery_of([c, None]) is None
    assert strictest([a, b]).delivery == "pr" and strictest([a, c]).delivery == "local"
    assert all(d.delivery is None for d in DEFAULT_TABLE.domains)
