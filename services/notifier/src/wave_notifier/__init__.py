"""WAVE notifier: run progress, escalations, safety violations and budget warnings posted to Slack,
routed by severity to channels, at most once per event and channel."""

from .blockkit import SlackMessage
from .bootstrap import build_sender, create_service
from .config import ROUTES, Channels, ConfigError, Route, SlackConfig
from .decide import HANDLED_EVENT_TYPES, Notice, decide
from .sender import Posted, SlackDeliveryError, SlackSender
from .service import NotifierService, notification_key
from .web_client import WebClientSender
from .webhook import WebhookSender

__all__ = [
    "HANDLED_EVENT_TYPES",
    "ROUTES",
    "Channels",
    "ConfigError",
    "Notice",
    "NotifierService",
    "Posted",
    "Route",
    "SlackConfig",
    "SlackDeliveryError",
    "SlackMessage",
    "SlackSender",
    "WebClientSender",
    "WebhookSender",
    "build_sender",
    "create_service",
    "decide",
    "notification_key",
]
