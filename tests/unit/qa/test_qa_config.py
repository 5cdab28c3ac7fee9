"""QA settings from the environment; a bad value is an error naming its variable."""

from __future__ import annotations

import pytest
from wave_qa import ConfigError, Limits, QAConfig


def test_defaults() -> None:
    config = QAConfig.from_env({})
    assert config.limits == Limits(timeout_s=600, memory_mb=2048, cpu_s=None, max_procs=256)
    assert config.allow_bare is False and config.sandbox is None and config.test_command is None
    assert config.scratch_root.endswith("wave-qa")


def test_every_setting_is_read() -> None:
    config = QAConfig.from_env({
        "WAVE_QA_SCRATCH_ROOT": "/var/tmp/qa", "WAVE_QA_TEST_COMMAND": "make check", "WAVE_QA_ALLOW_BARE": "1",
        "WAVE_QA_SANDBOX": "process", "WAVE_QA_TIMEOUT_S": "90.5", "WAVE_QA_MEMORY_MB": "512", "WAVE_QA_CPU_S": "60",
        "WAVE_QA_MAX_PROCS": "64", "WAVE_QA_DOCKER_IMAGE": "ci:py311", "WAVE_QA_RO_PATHS": "/opt/node:/opt/go",
        "WAVE_QA_SANDBOX_UID": "1500",
    })
    assert config.scratch_root == "/var/tmp/qa" and config.test_command == "make check"
    assert config.allow_bare and config.sandbox == "process"
    assert config.limits == Limits(timeout_s=90.5, memory_mb=512, cpu_s=60, max_procs=64)
    assert config.docker_image == "ci:py311" and config.ro_paths == ("/opt/node", "/opt/go")
    assert config.sandbox_uid == 1500


def test_empty_values_count_as_unset() -> None:
    assert QAConfig.from_env({"WAVE_QA_TIMEOUT_S": "", "WAVE_QA_SANDBOX": " "}) == QAConfig.from_env({})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WAVE_QA_TIMEOUT_S", "soon"), ("WAVE_QA_TIMEOUT_S", "0"), ("WAVE_QA_TIMEOUT_S", "nan"),
        ("WAVE_QA_MEMORY_MB", "2GB"), ("WAVE_QA_MEMORY_MB", "-1"), ("WAVE_QA_CPU_S", "1.5"),
        ("WAVE_QA_MAX_PROCS", "0"), ("WAVE_QA_ALLOW_BARE", "maybe"), ("WAVE_QA_SANDBOX", "chroot"),
        ("WAVE_QA_SCRATCH_ROOT", "relative/dir"), ("WAVE_QA_RO_PATHS", "opt/node"), ("WAVE_QA_SANDBOX_UID", "root"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        QAConfig.from_env({name: value})


def test_qa_settings_blank_bad_and_good_values() -> None:
    assert QAConfig.from_env({"WAVE_QA_MEMORY_MB": "", "WAVE_QA_ALLOW_BARE": "  "}) == QAConfig.from_env({})
    with pytest.raises(ConfigError) as refused:
        QAConfig.from_env({"WAVE_QA_TIMEOUT_S": "abc"})
    assert str(refused.value) == "WAVE_QA_TIMEOUT_S: Input should be a valid number, got 'abc'"
    with pytest.raises(ConfigError) as refused:
        QAConfig.from_env({"WAVE_QA_SANDBOX": "chroot"})
    assert str(refused.value).startswith("WAVE_QA_SANDBOX: must be auto or one of ")
    assert QAConfig.from_env({"WAVE_QA_SANDBOX": " Auto ", "WAVE_QA_MEMORY_MB": " 512 "}).limits.memory_mb == 512
