"""The one place that knows the concrete adapters: configuration in, a developer service out.

python -m wave_runtime service --factory wave_developer:create_service
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from wave_llm import ModelClient, ModelsSetup, load_models_setup

from .agent import LoopLimits
from .checkouts import Checkouts, GitCheckouts
from .config import DeveloperConfig
from .service import DeveloperService

log = logging.getLogger("wave.developer")


def create_service(
    env: Mapping[str, str] | None = None,
    *,
    config: DeveloperConfig | None = None,
    client: ModelClient | None = None,
    checkouts: Checkouts | None = None,
    models_setup: ModelsSetup | None = None,
) -> DeveloperService:
    """`models_setup`: the models the developer calls (default: the models configuration of `env`)."""
    config = config or DeveloperConfig.from_env(env)
    if client is None:
        client = ModelClient.from_setup(models_setup or load_models_setup(env=env))
    if client.banner:
        log.info("developer: %s", client.banner)
    config.scratch_root.mkdir(parents=True, exist_ok=True)
    log.info(
        "developer: scratch checkouts under %s, %s tool round(s), %s answer attempt(s), no diff -> %s, %d task(s) at once",
        config.scratch_root, config.max_tool_rounds, config.max_answer_attempts, config.on_no_diff, config.concurrency,
    )
    return DeveloperService(
        client,
        checkouts or GitCheckouts(config.scratch_root),
        limits=LoopLimits(config.max_tool_rounds, config.max_answer_attempts, config.max_tokens),
        on_no_diff=config.on_no_diff,
        concurrency=config.concurrency,
    )
