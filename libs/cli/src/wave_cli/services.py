"""Which service is which: the factories every entry point uses (`wave service NAME`, the embedded run,
the Kubernetes deployments through `python -m wave_runtime service --factory …`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from wave_runtime import Service

from .errors import UserError

if TYPE_CHECKING:
    from wave_llm import ModelsSetup

# In the order a run meets them; the embedded runtime starts them in this order too.
FACTORIES: dict[str, str] = {
    "planner": "wave_planner:create_service",
    "gitops": "wave_gitops:create_service",
    "developer": "wave_developer:create_service",
    "safety": "wave_safety:create_service",
    "qa": "wave_qa:create_service",
    "notifier": "wave_notifier:create_service",
}
# The services that call models: their factories take the run's models (`models_setup=`).
CALLS_MODELS = frozenset({"planner", "developer"})


def create(name: str, models: ModelsSetup | None = None) -> Service:
    """Build one service from its factory; configuration errors become one clear line. `models`: the
    models setup a model-calling service uses (default: its own reading of the environment)."""
    spec = FACTORIES.get(name)
    if spec is None:
        raise UserError(f"no service named {name!r}; the services are: {', '.join(FACTORIES)}")
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UserError(f"service {name}: package {module_name} is not installed ({exc}); run `make setup`") from None
    arguments = {"models_setup": models} if models is not None and name in CALLS_MODELS else {}
    try:
        return getattr(module, attr)(**arguments)
    except Exception as exc:  # configuration errors name their variable; say which service refused
        raise UserError(f"service {name} cannot start: {exc}") from None


def create_all(models: ModelsSetup | None = None) -> list[Service]:
    return [create(name, models) for name in FACTORIES]
