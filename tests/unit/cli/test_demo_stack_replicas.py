"""The demo's stack runs a role given more than once as that many instances, each named."""

from wave_cli.demo import instances


def test_a_role_named_more_than_once_becomes_numbered_instances():
    assert instances(["relay", "planner", "developer", "qa", "developer", "qa", "developer"]) == [
        ("relay", "relay"), ("planner", "planner"), ("developer-1", "developer"), ("qa-1", "qa"),
        ("developer-2", "developer"), ("qa-2", "qa"), ("developer-3", "developer"),
    ]
