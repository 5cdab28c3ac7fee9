"""WAVE's HTTP API: the application layer (`wave_app`) over FastAPI, with tokens, roles, sessions,
live event streams (Server-Sent Events) and Slack's interactivity endpoint."""

from .app import ApiConfig, create_app

__all__ = ["ApiConfig", "create_app"]
