"""Loading: find the models file, read it (YAML or TOML), validate it, and resolve it against the
environment."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import ConfigError
from .resolution import ModelsSetup, resolve
from .schema import ModelsFile

CONFIG_ENV = "WAVE_MODELS_CONFIG"
DEFAULT_CONFIG_PATHS = (".wave/models.yml", ".wave/models.yaml", ".wave/models.toml")


def find_config_file(env: Mapping[str, str], cwd: Path) -> Path | None:
    if named := env.get(CONFIG_ENV):
        path = Path(named)
        path = path if path.is_absolute() else cwd / path
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV} names {path}, which does not exist")
        return path
    return next((cwd / p for p in DEFAULT_CONFIG_PATHS if (cwd / p).is_file()), None)


def parse_models_file(path: Path) -> ModelsFile:
    text = path.read_text(encoding="utf-8")
    try:
        document = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be parsed: {exc}") from None
    return validate_models_document(document or {}, source=str(path))


def validate_models_document(document: Any, *, source: str) -> ModelsFile:
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return ModelsFile.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = tuple(error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if location and location[-1] == "[key]":
                location, message = location[:-1], f"not an allowed name: {message}"
            problems.append(f"{_key_path(location)}: {message}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def _key_path(location: tuple[Any, ...]) -> str:
    parts = [
        f"[{item}]" if isinstance(item, int) else ("." if i else "") + str(item)
        for i, item in enumerate(location)
    ]
    return "".join(parts) or "(top level)"


def load_models_setup(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> ModelsSetup:
    """Read the config file (the given path, else WAVE_MODELS_CONFIG, else `.wave/models.yml` if present) and
    the environment, and resolve what every role will call."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else Path(cwd)
    file_path = Path(path) if path is not None else find_config_file(env, cwd)
    if file_path is not None and not file_path.is_file():
        raise ConfigError(f"models config {file_path} does not exist")
    models_file = parse_models_file(file_path) if file_path is not None else ModelsFile()
    source = str(file_path) if file_path is not None else "built-in defaults"
    return resolve(models_file, env=env, cwd=cwd, source=source)
