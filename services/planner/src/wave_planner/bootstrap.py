"""The one place that knows the concrete adapters: configuration in, a planner service out.

python -m wave_runtime service --factory wave_planner:create_service
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from wave_llm import ModelClient, ModelsSetup, load_models_setup

from .config import PlannerConfig
from .service import PlannerService

log = logging.getLogger("wave.planner")


def create_service(
    env: Mapping[str, str] | None = None,
    *,
    config: PlannerConfig | None = None,
    models: ModelClient | None = None,
    cwd: str | Path | None = None,
    models_setup: ModelsSetup | None = None,
) -> PlannerService:
    """Reads the planner's variables (see README) and the models configuration (`models_setup`, else
    `.wave/models.yml` or WAVE_MODELS_CONFIG, keys from the environment); a bad setting raises an
    error naming it."""
    env = os.environ if env is None else env
    config = config or PlannerConfig.from_env(env)
    if models is None:
        models = ModelClient.from_setup(models_setup or load_models_setup(env=env, cwd=cwd), cwd=cwd)
    if models.banner:
        log.info("planner: %s", models.banner)
    log.info(
        "planner: retries back off from %gs up to %gs; %d answers per question; %d paths per listing",
        config.retry_base_s, config.retry_cap_s, config.max_answers, config.listing_limit,
    )
    return PlannerService(models, config=config)
