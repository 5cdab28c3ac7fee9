"""Every service reads its numbers from the environment the same way."""

import pytest
from wave_runtime.settings import SettingError, env_number, env_text


class ServiceConfigError(SettingError):
    pass


def test_blank_means_unset_and_values_are_stripped():
    env = {"A": "  ", "B": " 7 ", "C": " x "}
    assert env_text(env, "A") is None and env_text(env, "MISSING") is None
    assert env_text(env, "C") == "x"
    assert env_number(env, "A", 3) == 3
    assert env_number(env, "B", 3) == 7
    assert env_number({"F": "0.25"}, "F", 1.0, kind=float) == 0.25


def test_a_bad_number_names_the_variable_in_the_services_own_error():
    with pytest.raises(ServiceConfigError, match=r"^WAVE_X must be a whole number, got '1.5'$"):
        env_number({"WAVE_X": "1.5"}, "WAVE_X", 1, error=ServiceConfigError)
    with pytest.raises(SettingError, match=r"^WAVE_Y must be a number of seconds, got 'soon'$"):
        env_number({"WAVE_Y": "soon"}, "WAVE_Y", 1.0, kind=float, what="a number of seconds")
