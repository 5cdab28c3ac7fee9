import json

import pytest
from wave_events import catalogue as c
from wave_events import encode_payload, redact

# Real-looking, not real: every sample has the shape the provider issues.
SAMPLES = {
    "anthropic-key": "ANTHROPIC_KEY is sk-ant-api03-Xy7Qm2Lp9Rt4Vw8Zb1Nc6Df3Gh5Jk0MnPqRsTuVwXyZ-abcdEFGH",
    "openai-key": "use sk-proj-4fG7hJ2kL9mN3pQ6rS8tU1vW5xY0zA2bC4dE6fG8hJ0k for the call",
    "github-token": "git clone https://x:ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/o/r",
    "slack-token": "SLACK=xoxb-2048-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "slack-webhook": "post to https://hooks.slack.com/services/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 now",
    "aws-access-key": "aws_access_key_id = AKIA4QX7T2LMZ9R3WBNC",
    "secret-assignment": "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYq3Zt8LwKe",
    "google-api-key": "maps key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "jwt": "cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "bearer-token": "Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "url-password": "DATABASE_URL=postgresql://wave:Tr0ub4dor-and-3@db.internal:5432/wave",
    "private-key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
}
SECRET_PARTS = {
    "anthropic-key": "Xy7Qm2Lp9Rt4Vw8Zb1Nc6Df3Gh5Jk0MnPqRsTuVwXyZ",
    "openai-key": "4fG7hJ2kL9mN3pQ6rS8tU1vW5xY0zA2bC4dE6fG8hJ0k",
    "github-token": "16C7e42F292c6912E7710c838347Ae178B4a",
    "slack-token": "AbCdEfGhIjKlMnOpQrStUvWx",
    "slack-webhook": "q8Zr4Lt1Vx6Yw3Nb9Pd2Kc7H",
    "aws-access-key": "AKIA4QX7T2LMZ9R3WBNC",
    "secret-assignment": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYq3Zt8LwKe",
    "google-api-key": "9tSrke72PouQMnMX",
    "jwt": "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "bearer-token": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "url-password": "Tr0ub4dor-and-3",
    "private-key": "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_kind_of_secret_is_replaced_before_storage(kind):
    stored = encode_payload(c.RunFailed(reason=SAMPLES[kind]))
    reason = json.loads(stored)["reason"]
    assert SECRET_PARTS[kind] not in reason
    assert "[REDACTED:" in reason


def test_the_marker_names_the_kind_and_keeps_the_surrounding_text():
    assert redact("DATABASE_URL=postgresql://wave:hunter2hunter@db:5432/x") == (
        "DATABASE_URL=postgresql://wave:[REDACTED:url-password]@db:5432/x"
    )
    assert redact('password = "correct-horse-battery"') == 'password = "[REDACTED:secret-assignment]"'


@pytest.mark.parametrize(
    "text",
    [
        "token = get_token()",
        "password = os.environ['DB_PASSWORD']",
        "see https://github.com/org/repo/pull/42",
        "commit 3f9a2c1d4e5b6a7980f1e2d3c4b5a69788776655",
        "pytest -k test_secret_handling -q",
        "sk-short",
    ],
)
def test_ordinary_developer_text_is_left_alone(text):
    assert redact(text) == text


def test_redacted_json_stays_valid_json_even_with_escaped_quotes():
    diff = '+API_KEY = "AbCdEf0123456789xyzXYZ"\n+db = "postgresql://u:p4ssw0rd1@h/db"\n'
    stored = encode_payload(c.RunFailed(reason=diff))
    reason = json.loads(stored)["reason"]
    assert "AbCdEf0123456789xyzXYZ" not in reason and "p4ssw0rd1" not in reason
