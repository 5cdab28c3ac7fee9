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
from .choice import Candidate, SandboxChoice, environment_preparer, image_preparer
from .config import QAConfig
from .sandboxes.images import TestImages
from .sandboxes.selection import HostProbe, build_sandbox, candidate_sandboxes
from .service import QAService
from .testenv import TestEnvironments

log = logging.getLogger("wave.qa")


def create_service(
    env: Mapping[str, str] | None = None, *, config: QAConfig | None = None, probe: HostProbe | None = None
) -> QAService:
    """Reads WAVE_QA_* (see the README); finds the sandboxes the host offers, strongest first (each run
    uses the first whose probe can start its test command). A bad setting, or a host with no allowed
    sandbox, stops the service here with a message naming the cause."""
    config = config or QAConfig.from_env(env)
    probe = probe or HostProbe()
    offers = probe.offers(skip_docker=config.sandbox in ("bubblewrap", "process"))
    kinds = candidate_sandboxes(offers, allow_bare=config.allow_bare, wanted=config.sandbox)
    env_root = config.env_root or str(wave_home(os.environ if env is None else env) / "qa-env")
    environments = TestEnvironments(env_root, run_as=config.sandbox_uid, timeout_s=config.setup_timeout_s)
    images = TestImages(config.docker_image, env_root, timeout_s=config.setup_timeout_s)
    candidates = [
        Candidate(
            build_sandbox(kind, docker_image=config.docker_image, ro_paths=config.ro_paths, run_as=config.sandbox_uid),
            image_preparer(images) if kind in ("gvisor", "docker") else environment_preparer(environments.prepare),
        )
        for kind in kinds
    ]
    sandboxes = SandboxChoice(candidates)
    log.info(
        "qa: sandboxes %s (strongest first; test images FROM %s), scratch under %s, limits %s, test command %s",
        ", ".join(c.sandbox.name for c in candidates), config.docker_image, config.scratch_root, config.limits,
        config.test_command or "per repository",
    )
    log.info("qa: setup %s, environments under %s, toolchains %s", config.setup.source if config.setup else
             "from the target branch's .wave/qa.toml", env_root, ", ".join(environments.toolchains.found) or "none")
    return QAService(
        sandboxes, GitCheckout(), scratch_root=config.scratch_root, limits=config.limits, test_command=config.test_command,
        setup=config.setup, environments=environments, safety_policy=SafetyPolicy.from_env(env),
    )
