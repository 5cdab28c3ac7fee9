"""The models configuration, in four steps: the file's `schema`, `loading` it (file, YAML or TOML,
environment), `resolution` into what every role will call, and its `description` for `wave config`."""

from .description import describe_setup, mask, offline_banner
from .loading import (
    CONFIG_ENV,
    DEFAULT_CONFIG_PATHS,
    find_config_file,
    load_models_setup,
    parse_models_file,
    validate_models_document,
)
from .resolution import (
    BUILTIN_PROVIDERS,
    CASSETTE_ENV,
    DEFAULT_CASSETTE,
    DEFAULT_ROUTE,
    OFFLINE_ROUTE,
    RECORD_ENV,
    ModelsSetup,
    ResolvedProvider,
    missing_model_sources,
    resolve,
)
from .schema import (
    ModelsFile,
    PriceSettings,
    ProviderKind,
    ProviderSettings,
    RetrySettings,
    RouteEntrySettings,
)

__all__ = [
    "BUILTIN_PROVIDERS",
    "CASSETTE_ENV",
    "CONFIG_ENV",
    "DEFAULT_CASSETTE",
    "DEFAULT_CONFIG_PATHS",
    "DEFAULT_ROUTE",
    "OFFLINE_ROUTE",
    "RECORD_ENV",
    "ModelsFile",
    "ModelsSetup",
    "PriceSettings",
    "ProviderKind",
    "ProviderSettings",
    "ResolvedProvider",
    "RetrySettings",
    "RouteEntrySettings",
    "describe_setup",
    "find_config_file",
    "load_models_setup",
    "mask",
    "missing_model_sources",
    "offline_banner",
    "parse_models_file",
    "resolve",
    "validate_models_document",
]
