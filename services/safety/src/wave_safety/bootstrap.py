"""The safety service wired from the environment.

python -m wave_runtime service --factory wave_safety:create_service
"""

from __future__ import annotations

from wave_constitution import SafetyPolicy

from .service import SafetyService


def create_service() -> SafetyService:
    """The safety service with the policy of the environment (WAVE_SAFETY_* variables)."""
    return SafetyService(SafetyPolicy.from_env())
