"""The one place that knows the concrete adapters: configuration in, a QA service out.

python -m wave_runtime service --factory wave_qa:create_service
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from wave_constitution import SafetyPolicy
from wave_runtime.settings import wave_home

from .checkout import GitCheckout
from .config import QAConfig
from .sandboxes.selection import HostProbe, build_sandbox, choose_sandbox
from .service import QAService
from .testenv import TestEnvironments

log = logging.getLogger("wave.qa")


def create_service(
    env: Mapping[str, str] | None = None, *, config: QAConfig | None = None, probe: HostProbe | None = None
) -> QAService:
    """Reads WAVE_QA_* (see the README); picks the strongest sandbox the host offers. A bad setting, or a
    host with no allowed sandbox, stops the service here with a message naming the cause."""
    config = config or QAConfig.from_env(env)
    probe = probe or HostProbe()
    offers = probe.offers(skip_docker=config.sandbox in ("bubblewrap", "process"))
    kind = choose_sandbox(offers, allow_bare=config.allow_bare, wanted=config.sandbox)
    sandbox = build_sandbox(kind, docker_image=config.docker_image, ro_paths=config.ro_paths, run_as=config.sandbox_uid)
    log.info(
        "qa: sandbox %s, scratch under %s, limits %s, test command %s",
        sandbox.name, config.scratch_root, config.limits, config.test_command or "per repository",
    )
    env_root = config.env_root or str(wave_home(os.environ if env is None else env) / "qa-env")
    environments = TestEnvironments(env_root, run_as=config.sandbox_uid, timeout_s=config.setup_timeout_s)
    log.info("qa: setup %s, environments under %s, toolchains %s", config.setup.source if config.setup else
             "from the target branch's .wave/qa.toml", env_root, ", ".join(environments.toolchains.found) or "none")
    return QAService(
        sandbox, GitCheckout(), scratch_root=config.scratch_root, limits=config.limits, test_command=config.test_command,
        setup=config.setup, environments=environments, safety_policy=SafetyPolicy.from_env(env),
    )
