"""redact() skips its rules when no rule's literal is in the text; it must agree with the full path."""

import random

import pytest
from wave_events import catalogue as c
from wave_events import redaction

FRAGMENTS = (
    "sk-ant-api03-Xy7Qm2Lp9Rt4Vw8Zb1Nc6Df3Gh5Jk0MnPqRsTuVwXyZ", "sk-proj-4fG7hJ2kL9mN3pQ6rS8tU1vW5xY0zA2bC4dE6f",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "github_pat_11ABCDEFG0123456789abcdefghij", "xoxb-2048-12345678-AbCd",
    "https://hooks.slack.com/services/T0001/B0002/XXXX", "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE",
    "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jV",
    "Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "postgresql://wave:Tr0ub4dor-and-3@db",
    "-----BEGIN RSA PRIVATE KEY-----abc-----END RSA PRIVATE KEY-----", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI",
    "DB_PASSWORD: hunter2hunter", "MY_TOKEN=abcdefghijk", "X_API_KEY=abcdefghijkl", "PASSWD=abcdefghij",
    'password = "correct-horse"', 'PassWord: \\"abcdefghij\\"', "Api-Key='abcdefghijk'", "AUTHTOKEN = 'abcdefghijkl'",
    "access-token:'abcdefghijk'", 'accessKey="abcdefghijkl"', "xai-abcdefghijklmnopqrstuvwx", "apiKey = 'abcdefghijkl'",
    "pa\u017fsword = 'abcdefghijk'", "secret_ = 'abcdefghij'", "\u212aelvin", "hello", " ", "\n", '"', "=", ":", "'",
    "token", "tok", "en", "sk", "-", "_", "key", "pass", "word", "api", "ACCESS", "_KEY", "SEC", "RET", "\u00e9", "\u0130",
)


def test_the_fast_path_agrees_with_every_rule_on_mixed_text():
    rnd = random.Random(7)
    for _ in range(20_000):
        text = "".join(rnd.choice(FRAGMENTS) for _ in range(rnd.randint(1, 6)))
        text = rnd.choice((text, text.lower(), text.upper()))
        assert redaction.redact(text) == redaction._redact_all(text), text


@pytest.mark.parametrize(
    "text",
    [
        c.ChangeProposed(task_id="t1", attempt=1, diff="+x = 1\n", base_commit="0" * 40, rationale="r", model="m")
        .model_dump_json(),
        c.LLMCallRecorded(
            role="developer", provider="anthropic", model="m", prompt="p", response="r",
            input_tokens=1, output_tokens=2, cost_usd=0.1, latency_ms=3.0,
        ).model_dump_json(),
        "plain words with a token of thanks",
    ],
)
def test_ordinary_payloads_take_the_fast_path_unchanged(text):
    # Also as one text: the relay checks a whole page of payloads at once.
    assert not redaction.may_hold_secret("\n".join([text, text]))
    assert not redaction.may_hold_secret(text)
    assert redaction.redact(text) == text == redaction._redact_all(text)
