"""The safety service wired from the environment.

python -m wave_runtime service --factory wave_safety:create_service
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from wave_constitution import SafetyPolicy
from wave_llm import ModelClient, ModelsSetup, load_models_setup, missing_model_sources

from .service import SafetyService

log = logging.getLogger("wave.safety")


def create_service(
    env: Mapping[str, str] | None = None,
    *,
    models: ModelClient | None = None,
    models_setup: ModelsSetup | None = None,
    cwd: str | Path | None = None,
) -> SafetyService:
    """The safety service with the policy of the environment (WAVE_SAFETY_* variables) and, when the
    models setup (`models_setup`, else `.wave/models.yml` or WAVE_MODELS_CONFIG) can answer the
    `safety_judge` role, that judge for the grey zone; otherwise the rules decide alone."""
    env = os.environ if env is None else env
    policy = SafetyPolicy.from_env(env)
    if models is None:
        setup = models_setup or load_models_setup(env=env, cwd=cwd)
        missing = missing_model_sources(setup).get("safety_judge")
        if missing is None:
            models = ModelClient.from_setup(setup, cwd=cwd)
        else:
            log.info("safety: no safety_judge model (%s): the rules decide alone", missing)
    return SafetyService(policy, models=models)
