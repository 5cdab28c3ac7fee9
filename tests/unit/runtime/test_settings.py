"""Every settings class reads the environment the same way."""

import pytest
from pydantic import Field
from wave_runtime.settings import EnvSettings, SettingError, read_settings


class ServiceConfigError(SettingError):
    pass


class ExampleSettings(EnvSettings):
    model_config = {"env_prefix": "WAVE_X_"}

    count: int = 3
    seconds: float = Field(1.0, validation_alias="WAVE_Y")


def test_blank_means_unset_and_values_are_stripped():
    assert read_settings(ExampleSettings, {"WAVE_X_COUNT": "  ", "WAVE_Y": ""}) == ExampleSettings(count=3)
    assert read_settings(ExampleSettings, {"wave_x_count": " 7 ", "WAVE_Y": "0.25"}).count == 7
    assert read_settings(ExampleSettings, {"WAVE_Y": "0.25"}).seconds == 0.25


def test_a_bad_value_is_one_line_naming_the_variable_in_the_services_own_error():
    with pytest.raises(ServiceConfigError, match=r"^WAVE_X_COUNT: Input should be a valid integer, got '1.5'$"):
        read_settings(ExampleSettings, {"WAVE_X_COUNT": "1.5"}, error=ServiceConfigError)
    with pytest.raises(SettingError, match=r"^WAVE_Y: Input should be a valid number, got 'soon'$"):
        read_settings(ExampleSettings, {"WAVE_Y": "soon"})


def test_the_process_environment_is_read_when_no_mapping_is_given(monkeypatch):
    monkeypatch.setenv("WAVE_X_COUNT", "9")
    assert read_settings(ExampleSettings).count == 9
