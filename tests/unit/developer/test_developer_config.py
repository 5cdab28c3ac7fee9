"""Configuration from the environment: defaults, and a clear error naming a bad variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from wave_developer import ConfigError, DeveloperConfig, DeveloperService, create_service


def test_defaults_need_no_settings() -> None:
    config = DeveloperConfig.from_env({})
    assert (config.max_tool_rounds, config.max_answer_attempts, config.max_tokens, config.on_no_diff) == (8, 3, None, "reject")
    assert config.scratch_root.name == "wave-developer"


def test_settings_are_read_from_the_environment(tmp_path: Path) -> None:
    config = DeveloperConfig.from_env({
        "WAVE_DEVELOPER_SCRATCH_ROOT": str(tmp_path / "scratch"),
        "WAVE_DEVELOPER_MAX_TOOL_ROUNDS": "2",
        "WAVE_DEVELOPER_MAX_ANSWER_ATTEMPTS": "5",
        "WAVE_DEVELOPER_MAX_TOKENS": "8000",
        "WAVE_DEVELOPER_ON_NO_DIFF": "Escalate",
    })
    assert config == DeveloperConfig(tmp_path / "scratch", 2, 5, 8000, "escalate")


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("WAVE_DEVELOPER_MAX_TOOL_ROUNDS", "many", "Input should be a valid integer, got 'many'"),
        ("WAVE_DEVELOPER_MAX_TOOL_ROUNDS", "99", "from 0 to 50"),
        ("WAVE_DEVELOPER_MAX_ANSWER_ATTEMPTS", "0", "from 1 to 10"),
        ("WAVE_DEVELOPER_MAX_TOKENS", "-1", "from 1 to 1000000"),
        ("WAVE_DEVELOPER_ON_NO_DIFF", "ignore", "'reject' or 'escalate'"),
    ],
)
def test_a_bad_value_is_an_error_naming_its_variable(name: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint) as raised:
        DeveloperConfig.from_env({name: value})
    assert name in str(raised.value)


def test_developer_settings_blank_bad_and_good_values() -> None:
    assert DeveloperConfig.from_env({"WAVE_DEVELOPER_MAX_TOKENS": "", "WAVE_DEVELOPER_ON_NO_DIFF": " "}) == DeveloperConfig()
    with pytest.raises(ConfigError) as refused:
        DeveloperConfig.from_env({"WAVE_DEVELOPER_MAX_TOKENS": "lots"})
    assert str(refused.value) == "WAVE_DEVELOPER_MAX_TOKENS: Input should be a valid integer, got 'lots'"
    assert DeveloperConfig.from_env({"WAVE_DEVELOPER_MAX_TOKENS": " 4000 "}).max_tokens == 4000


def test_a_scratch_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ConfigError, match="WAVE_DEVELOPER_SCRATCH_ROOT"):
        DeveloperConfig.from_env({"WAVE_DEVELOPER_SCRATCH_ROOT": str(file)})


def test_the_factory_builds_an_offline_service_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    service = create_service({"WAVE_DEVELOPER_SCRATCH_ROOT": str(tmp_path / "scratch")})
    assert isinstance(service, DeveloperService)
    assert service.name == "developer"
    assert {"WorkspaceReady", "PlanCreated", "FixRequested"} <= service.handles
    assert (tmp_path / "scratch").is_dir()
