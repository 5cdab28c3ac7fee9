"""The models configuration under its earlier import path; it lives in `wave_llm.setup`."""

from .setup import *  # noqa: F403
from .setup import __all__  # noqa: F401
