"""Credentials for tests: real-looking (the shape and randomness a provider issues) but made up, built
at run time so the repository itself holds no key-shaped literal."""

from __future__ import annotations

import random
import string

_BASE64URL = string.ascii_letters + string.digits + "-_"


def anthropic_key(seed: int = 1) -> str:
    """An Anthropic API key of the issued shape: sk-ant-api03-, 93 random characters, AA."""
    body = "".join(random.Random(seed).choices(_BASE64URL, k=93))
    return f"sk-ant-api03-{body}AA"


# Stand-ins that only look like credentials: fixtures, placeholders, documentation examples.
PLACEHOLDERS = (
    'assert auth_header("placeholder-token-1234") == "Bearer placeholder-token-1234"',
    'password = "hunter2"',
    'token = "test-token"',
    'API_KEY = "sk-ant-api03-your-key-here"',
    'OPENAI_API_KEY = "sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    'api_key = "<your-api-key>"',
    "DB_PASSWORD=${DB_PASSWORD}",
    'password = "changeme-changeme"',
    'secret_key = "dummy-secret-for-tests"',
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    'client_secret = "aaaaaaaaaaaaaaaa"',
    'headers = {"Authorization": "Bearer test-token-0123456789"}',
    "url = 'postgresql://user:password@localhost/app'",
)
