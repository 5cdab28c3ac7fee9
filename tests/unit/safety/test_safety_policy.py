"""The policy: thresholds, allowlist and version, from code or the environment, with clear errors."""

import pytest
from wave_constitution import DEFAULT_EGRESS_ALLOWLIST, PolicyError, SafetyPolicy, ShellCommand, score


def test_defaults_match_the_design() -> None:
    policy = SafetyPolicy()
    assert (policy.allow_threshold, policy.block_threshold) == (0.7, 0.3)
    assert {"pypi.org", "registry.npmjs.org", "proxy.golang.org", "crates.io", "github.com"} <= set(
        policy.egress_allowlist
    )
    assert [policy.verdict_for(s) for s in (1.0, 0.7, 0.69, 0.3, 0.29, 0.0)] == [
        "allow",
        "allow",
        "escalate",
        "escalate",
        "block",
        "block",
    ]


def test_environment_sets_thresholds_and_allowlist() -> None:
    policy = SafetyPolicy.from_env(
        {
            "WAVE_SAFETY_ALLOW_THRESHOLD": "0.9",
            "WAVE_SAFETY_BLOCK_THRESHOLD": "0.1",
            "WAVE_SAFETY_EGRESS_ALLOWLIST": "Example.com, *.corp.internal",
        }
    )
    assert (policy.allow_threshold, policy.block_threshold) == (0.9, 0.1)
    assert policy.egress_allowlist == ("example.com", "*.corp.internal")
    assert policy.host_allowed("api.example.com") and policy.host_allowed("git.corp.internal")
    assert not policy.host_allowed("pypi.org") and not policy.host_allowed("badexample.com")


def test_a_plus_prefix_extends_the_default_allowlist() -> None:
    policy = SafetyPolicy.from_env({"WAVE_SAFETY_EGRESS_ALLOWLIST": "+mirror.example.org"})
    assert policy.egress_allowlist == (*DEFAULT_EGRESS_ALLOWLIST, "mirror.example.org")


def test_unset_or_blank_variables_keep_the_defaults() -> None:
    assert SafetyPolicy.from_env({"WAVE_SAFETY_ALLOW_THRESHOLD": " "}) == SafetyPolicy()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"WAVE_SAFETY_ALLOW_THRESHOLD": "high"},
            "WAVE_SAFETY_ALLOW_THRESHOLD: Input should be a valid number, got 'high'",
        ),
        (
            {"WAVE_SAFETY_BLOCK_THRESHOLD": "1.5"},
            "WAVE_SAFETY_BLOCK_THRESHOLD: Input should be less than or equal to 1, got '1.5'",
        ),
        (
            {"WAVE_SAFETY_ALLOW_THRESHOLD": "0.2", "WAVE_SAFETY_BLOCK_THRESHOLD": "0.5"},
            "must not be above WAVE_SAFETY_ALLOW_THRESHOLD",
        ),
        (
            {"WAVE_SAFETY_EGRESS_ALLOWLIST": "pypi.org, https://x.com/"},
            "holds 'https://x.com/', which is not a host name",
        ),
        ({"WAVE_SAFETY_EGRESS_ALLOWLIST": ", ,"}, "names no host"),
    ],
)
def test_bad_settings_are_refused_with_a_message_naming_them(env: dict[str, str], message: str) -> None:
    with pytest.raises(PolicyError) as error:
        SafetyPolicy.from_env(env)
    assert message in str(error.value)


def test_safety_settings_blank_bad_and_good_values() -> None:
    assert SafetyPolicy.from_env({"WAVE_SAFETY_BLOCK_THRESHOLD": "", "WAVE_SAFETY_EGRESS_ALLOWLIST": "  "}) == SafetyPolicy()
    with pytest.raises(PolicyError) as refused:
        SafetyPolicy.from_env({"WAVE_SAFETY_ALLOW_THRESHOLD": "-0.1"})
    assert str(refused.value) == "WAVE_SAFETY_ALLOW_THRESHOLD: Input should be greater than or equal to 0, got '-0.1'"
    assert SafetyPolicy.from_env({"WAVE_SAFETY_ALLOW_THRESHOLD": " 0.8 "}).allow_threshold == 0.8


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(PolicyError, match="allow_threshold must be a number between 0 and 1"):
        SafetyPolicy(allow_threshold=2)
    with pytest.raises(PolicyError, match="not a host name"):
        SafetyPolicy(egress_allowlist=("bad host",))


def test_the_version_follows_the_settings_and_is_in_every_verdict() -> None:
    default, strict = SafetyPolicy(), SafetyPolicy(allow_threshold=0.95)
    assert default.version == SafetyPolicy().version
    assert default.version != strict.version
    assert SafetyPolicy(version="2025-06-01").version == "2025-06-01"
    assert score(ShellCommand("ls"), strict).policy_version == strict.version


def test_thresholds_change_the_verdict_of_the_same_action() -> None:
    command = ShellCommand("curl https://example.net/x")  # one egress violation: score 0.5
    assert score(command, SafetyPolicy()).verdict == "escalate"
    assert score(command, SafetyPolicy(allow_threshold=0.5)).verdict == "allow"
    assert score(command, SafetyPolicy(allow_threshold=0.8, block_threshold=0.6)).verdict == "block"
