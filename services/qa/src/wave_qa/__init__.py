"""WAVE qa: runs the repository's tests for a run's committed head inside the strongest sandbox the host
offers, and says TestsPassed or TestsFailed."""

from .bootstrap import create_service
from .checkout import Checkout, CheckoutError, GitCheckout
from .config import ConfigError, QAConfig
from .decide import (
    HANDLED_EVENT_TYPES,
    RunTests,
    decide,
    environment_problem,
    no_test_command,
    run_outcome,
    sandbox_unusable,
    setup_failed,
    test_environment_missing,
    untested,
)
from .detect import RepoConfigError, TestCommand, detect_test_command, read_repo_files, resolve_test_command
from .prepare import SetupConfig, SetupConfigError, SetupPlan, plan_setup, read_setup_config
from .reports import Failure, TestReport, failure_excerpt, parse_junit, parse_output, read_report
from .sandbox import Limits, Mounts, Sandbox, SandboxError, SandboxResult, SandboxUnavailableError, scrub_env
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
from .testenv import Prepared, SetupError, TestEnvironments, Toolchains, host_toolchains, toolchain_layout

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
    "Mounts",
    "Prepared",
    "ProcessSandbox",
    "QAConfig",
    "QAService",
    "RepoConfigError",
    "RunTests",
    "Sandbox",
    "SandboxError",
    "SandboxResult",
    "SandboxUnavailableError",
    "SetupConfig",
    "SetupConfigError",
    "SetupError",
    "SetupPlan",
    "TestCommand",
    "TestEnvironments",
    "TestReport",
    "Toolchains",
    "bubblewrap_works",
    "choose_sandbox",
    "create_service",
    "decide",
    "detect_test_command",
    "docker_runtimes",
    "environment_problem",
    "host_toolchains",
    "no_test_command",
    "plan_setup",
    "read_setup_config",
    "setup_failed",
    "test_environment_missing",
    "toolchain_layout",
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
