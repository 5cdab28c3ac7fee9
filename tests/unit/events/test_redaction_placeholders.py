"""One secret detector: real-looking credentials are redacted from events; stand-ins that only look like
them (placeholders, fixtures, documentation examples) pass through unchanged, and the fields a service
acts on are never rewritten."""

import json

import pytest
from secret_samples import PLACEHOLDERS, anthropic_key
from wave_events import catalogue as c
from wave_events import decode_envelope, encode_envelope, encode_payload, redact
from wave_events.envelope import new_envelope
from wave_events.errors import SecretInEventError
from wave_events.redaction import find_secrets

PLACEHOLDER_DIFF = (
    "diff --git a/tests/test_auth.py b/tests/test_auth.py\n"
    "new file mode 100644\n"
    "--- /dev/null\n"
    "+++ b/tests/test_auth.py\n"
    "@@ -0,0 +1,5 @@\n"
    "+from auth import auth_header\n"
    '+password = "hunter2"\n'
    '+token = "test-token"\n'
    "+def test_header():\n"
    '+    assert auth_header("placeholder-token-1234") == "Bearer placeholder-token-1234"\n'
)


def _proposal(diff: str) -> c.ChangeProposed:
    return c.ChangeProposed(task_id="t1", attempt=1, diff=diff, base_commit="0" * 40, rationale="adds auth")


@pytest.mark.parametrize("text", PLACEHOLDERS)
def test_stand_ins_are_not_secrets_and_are_not_redacted(text):
    assert find_secrets(text) == []
    assert redact(text) == text
    assert json.loads(encode_payload(c.RunFailed(reason=text)))["reason"] == text


def test_a_real_key_in_a_model_answer_is_still_redacted_before_storage():
    key = anthropic_key()
    call = c.LLMCallRecorded(
        role="developer", provider="anthropic", model="m", prompt="write config",
        response=f'Here is the change:\n+API_KEY = "{key}"\n{key}\n', input_tokens=1, output_tokens=2,
        cost_usd=0.1, latency_ms=3.0,
    )
    stored = encode_payload(call)
    assert key not in stored and key[14:40] not in stored
    assert json.loads(stored)["response"].count("[REDACTED:anthropic-key]") == 2


def test_a_proposed_diff_with_placeholder_tokens_is_stored_byte_for_byte():
    envelope = new_envelope("run-r1", _proposal(PLACEHOLDER_DIFF), producer="developer")
    assert decode_envelope(encode_envelope(envelope)).payload.diff == PLACEHOLDER_DIFF


def test_a_proposed_diff_is_never_rewritten_a_real_secret_refuses_the_event_without_showing_it():
    key = anthropic_key()
    diff = PLACEHOLDER_DIFF + f'+API_KEY = "{key}"\n'
    with pytest.raises(SecretInEventError) as raised:
        encode_payload(_proposal(diff))
    assert "anthropic-key" in str(raised.value) and "line 11" in str(raised.value)
    assert key[14:] not in str(raised.value)


def test_the_rest_of_a_proposal_is_still_redacted():
    key = anthropic_key()
    stored = json.loads(encode_payload(c.ChangeProposed(
        task_id="t1", attempt=1, diff=PLACEHOLDER_DIFF, base_commit="0" * 40, rationale=f"uses {key}",
    )))
    assert stored["diff"] == PLACEHOLDER_DIFF
    assert stored["rationale"] == "uses [REDACTED:anthropic-key]"


def test_a_withheld_proposal_names_where_the_secret_was_and_an_old_proposal_still_reads():
    withheld = c.ChangeProposed(
        task_id="t1", attempt=1, base_commit="0" * 40,
        withheld=(c.WithheldSecret(path="config.py", line=3, kind="anthropic-key"),),
    )
    assert json.loads(encode_payload(withheld))["withheld"] == [{"path": "config.py", "line": 3, "kind": "anthropic-key"}]
    with pytest.raises(ValueError, match="either a diff or the secrets it withheld"):
        c.ChangeProposed(task_id="t1", attempt=1, base_commit="0" * 40)
    old = c.registry.decode("ChangeProposed", 1, {"task_id": "t1", "attempt": 1, "diff": "+x\n", "base_commit": "0" * 40})
    assert old.diff == "+x\n" and old.withheld == ()


def test_a_key_at_the_start_of_a_line_inside_json_text_is_found():
    key = anthropic_key(2)
    stored = encode_payload(c.RunFailed(reason=f"the key:\n{key}"))
    assert key[14:] not in stored
