"""The one place that knows the concrete adapters: configuration in, a QA service out.

python -m wave_runtime service --factory wave_qa:create_service
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .checkout import GitCheckout
from .config import QAConfig
from .sandboxes.selection import HostProbe, build_sandbox, choose_sandbox
from .service import QAService

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
    return QAService(
        sandbox, GitCheckout(), scratch_root=config.scratch_root, limits=config.limits, test_command=config.test_command
    )
