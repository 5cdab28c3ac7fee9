import pytest
from wave_llm import Price, PriceTable


def test_cost_is_per_million_input_and_output_tokens():
    assert Price(3.0, 15.0).cost(1_000_000, 0) == 3.0
    assert Price(3.0, 15.0).cost(2_000, 1_000) == pytest.approx(0.006 + 0.015)


def test_a_dated_model_id_takes_the_price_of_the_longest_known_name():
    table = PriceTable({"claude-sonnet-4": Price(1, 1), "claude-sonnet-4-5": Price(3, 15)})
    assert table.price("claude-sonnet-4-5-20250929") == Price(3, 15)
    assert table.price("claude-sonnet-4-20250514") == Price(1, 1)


def test_an_unpriced_model_is_an_error_on_a_metered_provider_and_free_on_a_local_one():
    table = PriceTable()
    with pytest.raises(KeyError, match="no price for model 'my-model'"):
        table.price("my-model")
    assert table.price("my-model", metered=False).cost(10_000, 10_000) == 0.0


def test_config_prices_override_the_defaults():
    table = PriceTable().with_overrides({"grok-4": Price(1.0, 2.0)})
    assert table.price("grok-4") == Price(1.0, 2.0)
    assert table.price("gpt-4.1") == PriceTable().price("gpt-4.1")
