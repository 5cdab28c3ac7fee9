"""The models config: file plus environment, validated with errors naming the bad key, shown with secrets masked."""

import pytest
from wave_llm import ConfigError, Router, describe_setup, load_models_setup, mask

ANTHROPIC_KEY = "sk-ant-api03-abcdefghijklmnopqrstuv"
XAI_KEY = "xai-abcdefghijklmnopqrstuvwxyz12"


def _write(tmp_path, name, text):
    (tmp_path / ".wave").mkdir(exist_ok=True)
    path = tmp_path / ".wave" / name
    path.write_text(text)
    return path


def _routes(setup, role):
    return [(e.provider, e.model, e.max_failures) for e in setup.routes[role]]


def test_without_any_key_every_role_plays_the_scripted_cassette(tmp_path):
    setup = load_models_setup(env={"WAVE_SCRIPTED_CASSETTE": "demo/cassette.yml"}, cwd=tmp_path)
    router = Router.from_setup(setup)
    assert setup.offline and router.offline
    assert {tuple(_routes(setup, r)) for r in setup.routes} == {(("scripted", "scripted", 1),)}
    assert router.banner == f"offline: scripted model responses from {tmp_path / 'demo/cassette.yml'}"
    assert describe_setup(setup)["banner"] == router.banner


def test_keys_in_the_environment_make_the_default_route(tmp_path):
    setup = load_models_setup(env={"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "XAI_API_KEY": XAI_KEY}, cwd=tmp_path)
    assert not setup.offline
    assert _routes(setup, "fixer") == [("anthropic", "claude-sonnet-4-5", 2), ("xai", "grok-4", 2)]
    router = Router.from_setup(setup)
    assert router.banner is None and not router.offline
    assert [e.provider.name for e in router.route("planner")] == ["anthropic", "xai"]


def test_yaml_file_routes_prices_and_base_urls(tmp_path):
    _write(
        tmp_path,
        "models.yml",
        """
providers:
  local:
    kind: openai_compatible
    preset: ollama
routes:
  fixer:
    - {provider: anthropic, model: claude-sonnet-4-5, max_failures: 2}
    - {provider: xai, model: grok-4}
  planner:
    - {provider: local, model: "qwen2.5-coder:7b"}
prices:
  grok-4: {input: 2.0, output: 10.0}
""",
    )
    env = {
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "XAI_API_KEY": XAI_KEY,
        "WAVE_LOCAL_LLM_BASE_URL": "http://127.0.0.1:9/v1",
    }
    setup = load_models_setup(env=env, cwd=tmp_path)
    assert setup.source.endswith(".wave/models.yml")
    assert _routes(setup, "fixer") == [("anthropic", "claude-sonnet-4-5", 2), ("xai", "grok-4", 2)]
    assert _routes(setup, "planner") == [("local", "qwen2.5-coder:7b", 2)]
    assert _routes(setup, "developer")[0][0] == "anthropic"  # unrouted roles keep the default route
    assert setup.providers["xai"].base_url == "https://api.x.ai/v1"
    assert setup.providers["local"].base_url == "http://127.0.0.1:9/v1"
    rows = {(r["role"], r["order"]): r for r in describe_setup(setup)["routes"]}
    assert rows[("fixer", 2)]["usd_per_mtok_input"] == 2.0
    assert rows[("planner", 1)]["api_key"] == "(none needed)"


def test_toml_file_named_by_the_environment(tmp_path):
    path = tmp_path / "models.toml"
    path.write_text(
        '[[routes.safety_judge]]\nprovider = "openai"\nmodel = "gpt-4.1-mini"\nmax_failures = 3\n'
    )
    setup = load_models_setup(
        env={"WAVE_MODELS_CONFIG": str(path), "OPENAI_API_KEY": "sk-proj-" + "x" * 30}, cwd=tmp_path
    )
    assert _routes(setup, "safety_judge") == [("openai", "gpt-4.1-mini", 3)]


def test_a_config_path_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(ConfigError, match="WAVE_MODELS_CONFIG names .*nowhere.yml"):
        load_models_setup(env={"WAVE_MODELS_CONFIG": "nowhere.yml"}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("routes:\n  fixr:\n    - {provider: anthropic, model: claude-sonnet-4-5}\n", "routes.fixr"),
        (
            "routes:\n  fixer:\n    - {provider: anthropic, model: claude-sonnet-4-5, max_failures: 0}\n",
            r"routes.fixer\[0\].max_failures",
        ),
        ("routes:\n  fixer:\n    - {provider: anthropic}\n", r"routes.fixer\[0\].model"),
        (
            "routes:\n  fixer:\n    - {provider: claude, model: claude-sonnet-4-5}\n",
            r"routes.fixer\[0\].provider: unknown provider 'claude'",
        ),
        (
            "routes:\n  fixer:\n    - {provider: anthropic, model: claude-9}\n",
            r"routes.fixer\[0\].model: no price for 'claude-9'",
        ),
        ("routes:\n  fixer: []\n", "routes.fixer: a route needs at least one entry"),
        (
            "providers:\n  anthropic: {kind: anthropic, api_key: sk-ant-123}\n",
            "providers.anthropic.*api_key_env",
        ),
        ("providers:\n  grok: {kind: openai_compatible}\n", "providers.grok.*preset"),
        ("providers:\n  anthropic: {kind: anthropic, timeout_s: -1}\n", "providers.anthropic.timeout_s"),
        ("retry: {max_attempts: 0}\n", "retry.max_attempts"),
        ("prices:\n  grok-4: {input: -1, output: 2}\n", "prices.grok-4.input"),
        ("routs: {}\n", "routs"),
        ("- a list\n", "top level must be a mapping"),
        ("routes: [\n", "cannot be parsed"),
    ],
)
def test_invalid_config_names_the_bad_key(tmp_path, text, complaint):
    _write(tmp_path, "models.yml", text)
    with pytest.raises(ConfigError, match=complaint):
        load_models_setup(env={}, cwd=tmp_path)


def test_a_route_to_a_provider_without_its_key_is_refused_when_built(tmp_path):
    _write(
        tmp_path, "models.yml", "routes:\n  fixer:\n    - {provider: anthropic, model: claude-sonnet-4-5}\n"
    )
    setup = load_models_setup(env={}, cwd=tmp_path)
    row = next(r for r in describe_setup(setup)["routes"] if r["role"] == "fixer")
    assert (row["available"], row["api_key"]) == (False, "(not set)")
    with pytest.raises(
        ConfigError, match=r"routes.fixer\[0\]: provider 'anthropic' has no API key; set ANTHROPIC_API_KEY"
    ):
        Router.from_setup(setup)


def test_the_effective_table_never_shows_a_key(tmp_path):
    env = {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "XAI_API_KEY": XAI_KEY}
    table = describe_setup(load_models_setup(env=env, cwd=tmp_path))
    text = repr(table)
    assert ANTHROPIC_KEY not in text and XAI_KEY not in text
    anthropic = next(p for p in table["providers"] if p["name"] == "anthropic")
    assert anthropic["api_key"] == "****" + ANTHROPIC_KEY[-4:]
    assert anthropic["api_key_env"] == "ANTHROPIC_API_KEY"
    assert {r["role"] for r in table["routes"]} == {
        "planner",
        "developer",
        "fixer",
        "safety_judge",
        "merge_reviewer",
    }


@pytest.mark.parametrize(
    ("secret", "shown"),
    [(None, "(not set)"), ("", "(not set)"), ("short", "****"), ("sk-0123456789abcdefWXYZ", "****WXYZ")],
)
def test_mask(secret, shown):
    assert mask(secret) == shown


def test_record_mode_wraps_real_providers(tmp_path):
    from wave_llm import RecordingProvider

    env = {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "WAVE_RECORD_CASSETTE": "rec/run.yml"}
    router = Router.from_setup(load_models_setup(env=env, cwd=tmp_path))
    provider = router.route("planner")[0].provider
    assert isinstance(provider, RecordingProvider)
    assert provider.cassette_path == tmp_path / "rec/run.yml"
