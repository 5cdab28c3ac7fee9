"""Description: the effective model configuration as `wave config` shows it, secrets masked."""

from __future__ import annotations

from typing import Any

from .resolution import ModelsSetup


def mask(secret: str | None) -> str:
    """A secret as it may be shown: only whether it is set and its last four characters."""
    if not secret:
        return "(not set)"
    return "****" + secret[-4:] if len(secret) >= 16 else "****"


def offline_banner(setup: ModelsSetup) -> str | None:
    if not setup.offline:
        return None
    return "offline: scripted model responses from " + ", ".join(setup.cassettes())


def describe_setup(setup: ModelsSetup) -> dict[str, Any]:
    """The effective model configuration for `wave config`, with every secret masked."""
    routes = []
    for role, route in setup.routes.items():
        for order, entry in enumerate(route, start=1):
            provider = setup.providers[entry.provider]
            price = setup.prices.lookup(entry.model)
            routes.append(
                {
                    "role": role,
                    "order": order,
                    "provider": entry.provider,
                    "kind": provider.settings.kind,
                    "model": entry.model,
                    "max_failures": entry.max_failures,
                    "base_url": provider.base_url,
                    "api_key": mask(provider.api_key)
                    if provider.settings.key_variable()
                    else "(none needed)",
                    "available": provider.available,
                    "usd_per_mtok_input": price.input_per_mtok if price else None,
                    "usd_per_mtok_output": price.output_per_mtok if price else None,
                }
            )
    providers = [
        {
            "name": p.name,
            "kind": p.settings.kind,
            "base_url": p.base_url,
            "api_key_env": p.settings.key_variable(),
            "api_key": mask(p.api_key) if p.settings.key_variable() else "(none needed)",
            "available": p.available,
            "metered": p.metered,
            "timeout_s": p.settings.timeout_s,
            **({"cassette": p.cassette} if p.cassette else {}),
        }
        for p in setup.providers.values()
    ]
    retry = setup.file.retry
    return {
        "source": setup.source,
        "offline": setup.offline,
        "banner": offline_banner(setup),
        "record_cassette": setup.record_cassette,
        "routes": routes,
        "providers": providers,
        "retry": retry.model_dump(),
        "prices": setup.prices.as_dict(),
    }
