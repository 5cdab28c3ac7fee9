"""WAVE safety: the service that scores every proposed change against the constitution
(`wave_constitution`) and records the verdict as an ActionScored."""

from .bootstrap import create_service
from .decide import ScoreChange, action_scored, decide
from .service import SafetyService

__all__ = ["SafetyService", "ScoreChange", "action_scored", "create_service", "decide"]
