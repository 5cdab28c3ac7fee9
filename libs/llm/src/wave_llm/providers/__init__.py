"""Adapters of the `ModelProvider` port."""

from .anthropic import AnthropicProvider
from .openai import OPENAI_COMPATIBLE_PRESETS, OpenAICompatibleProvider, OpenAIProvider, Preset
from .recording import RecordingProvider
from .scripted import ScriptedProvider

__all__ = [
    "OPENAI_COMPATIBLE_PRESETS",
    "AnthropicProvider",
    "OpenAICompatibleProvider",
    "OpenAIProvider",
    "Preset",
    "RecordingProvider",
    "ScriptedProvider",
]
