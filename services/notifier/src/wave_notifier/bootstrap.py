"""The one place that knows the concrete Slack adapters: configuration in, a notifier service out.

python -m wave_runtime service --factory wave_notifier:create_service
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .config import ROUTES, SlackConfig
from .sender import SlackSender
from .service import NotifierService
from .web_client import WebClientSender
from .webhook import WebhookSender

log = logging.getLogger("wave.notifier")


def build_sender(config: SlackConfig) -> SlackSender | None:
    """The bot token wins over webhooks: only it can read back, which keeps a message from repeating."""
    if config.bot_token is not None:
        return WebClientSender.from_token(
            config.bot_token,
            api_url=config.api_url,
            timeout_s=config.timeout_s,
            max_attempts=config.max_attempts,
            max_retry_after_s=config.max_retry_after_s,
            backoff_s=config.retry_backoff_s,
        )
    if config.enabled:
        channel_urls = {
            config.channels.of(r): url for r in ROUTES if (url := config.route_webhook_urls.get(r))
        }
        return WebhookSender(
            config.webhook_url,
            channel_urls,
            timeout_s=config.timeout_s,
            max_attempts=config.max_attempts,
            max_retry_after_s=config.max_retry_after_s,
            backoff_s=config.retry_backoff_s,
        )
    return None


def create_service(
    env: Mapping[str, str] | None = None, *, config: SlackConfig | None = None
) -> NotifierService:
    """A notifier for the given configuration (default: the environment). Without a bot token or a
    webhook URL the service is disabled: it handles no event type, and says so in the log."""
    config = config or SlackConfig.from_env(env)
    sender = build_sender(config)
    if sender is None:
        log.info("notifier disabled: neither WAVE_SLACK_BOT_TOKEN nor WAVE_SLACK_WEBHOOK_URL is set")
        return NotifierService.disabled(config.channels)
    how = "bot token (chat.postMessage)" if config.bot_token else "incoming webhooks"
    if config.bot_token and config.webhook_url:
        log.info("notifier: both a bot token and a webhook URL are set; using the bot token")
    log.info(
        "notifier enabled via %s: updates -> %s, alerts -> %s, budget -> %s",
        how,
        config.channels.updates,
        config.channels.alerts,
        config.channels.budget,
    )
    return NotifierService(sender, config.channels)
