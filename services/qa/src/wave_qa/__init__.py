"""WAVE qa: runs the repository's tests for a run's committed head inside the strongest sandbox the host
offers, and says TestsPassed or TestsFailed."""

from .bootstrap import create_service
from .checkout import Checkout, CheckoutError, GitCheckout
from .config import ConfigError, QAConfig
from .decide import HANDLED_EVENT_TYPES, RunTests, decide, run_outcome, sandbox_unusable, untested
from .detect import RepoConfigError, TestCommand, detect_test_command, read_repo_files, resolve_test_command
from .reports import Failure, TestReport, failure_excerpt, parse_junit, parse_output, read_report
from .sandbox import Limits, Sandbox, SandboxError, SandboxResult, SandboxUnavailableError, scrub_env
from .sandboxes import (
    BubblewrapSandbox,
    DockerSandbox,
    HostOffers,
    HostProbe,
    ProcessSandbox,
    bubblewrap_works,
    choose_sandbox,
    docker_runtimes,
)
from .service import QAService

__all__ = [
    "HANDLED_EVENT_TYPES",
    "BubblewrapSandbox",
    "Checkout",
    "CheckoutError",
    "ConfigError",
    "DockerSandbox",
    "Failure",
    "GitCheckout",
    "HostOffers",
    "HostProbe",
    "Limits",
    "ProcessSandbox",
    "QAConfig",
    "QAService",
    "RepoConfigError",
    "RunTests",
    "Sandbox",
    "SandboxError",
    "SandboxResult",
    "SandboxUnavailableError",
    "TestCommand",
    "TestReport",
    "bubblewrap_works",
    "choose_sandbox",
    "create_service",
    "decide",
    "detect_test_command",
    "docker_runtimes",
    "failure_excerpt",
    "parse_junit",
    "parse_output",
    "read_repo_files",
    "read_report",
    "resolve_test_command",
    "sandbox_unusable",
    "scrub_env",
    "untested",
    "run_outcome",
]
