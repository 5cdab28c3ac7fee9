# The entry points people type. See README.md.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
LOCAL := deploy/local

.PHONY: setup up down test test-unit test-integration test-e2e demo demo-stack images images-lock demo-images bench lint schemas clean

setup: ## install Debian packages when missing, build the virtualenv
	@bash $(LOCAL)/setup.sh

up: setup ## start the local PostgreSQL and Kafka
	@bash $(LOCAL)/up.sh

down: ## stop them
	@bash $(LOCAL)/down.sh

# The tiers are folders: tests/unit (pure code, no server, no subprocess), tests/integration (real
# git, SQLite, sandboxes, PostgreSQL, Kafka, Docker), tests/e2e (a story end to end). Servers are
# started for the run and stopped afterwards, also when a test fails: PostgreSQL, Kafka and a private
# Docker daemon with gVisor (tests marked `docker` are selected only there, and fail if it is down).
# pytest's exit code 5 (nothing collected) counts as a failure.
PYTEST_STATUS = status=$$?; \
	if [ $$status = 5 ]; then echo "make $@: pytest collected no tests" >&2; exit 1; fi; exit $$status

test: setup ## every tier
	@bash $(LOCAL)/with-servers.sh --docker $(PY) -m pytest $(PYTEST_ARGS); $(PYTEST_STATUS)

test-unit: setup ## tests/unit: needs no server
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS); $(PYTEST_STATUS)

test-integration: setup ## tests/integration, with the servers
	@bash $(LOCAL)/with-servers.sh --docker $(PY) -m pytest tests/integration $(PYTEST_ARGS); $(PYTEST_STATUS)

test-e2e: setup ## tests/e2e, with the servers
	@bash $(LOCAL)/with-servers.sh --docker $(PY) -m pytest tests/e2e $(PYTEST_ARGS); $(PYTEST_STATUS)

demo: setup ## the sample story end to end, embedded and offline; its store is .wave (WAVE_HOME=.wave)
	@WAVE_HOME=.wave $(VENV)/bin/wave demo; status=$$?; \
	echo "(the wave command is $(VENV)/bin/wave; \`source $(VENV)/bin/activate\` puts it on your PATH;"; \
	echo " the demo's store is in .wave: inspect it with WAVE_HOME=.wave wave status RUN)"; exit $$status

demo-stack: setup ## the same story with every service its own process over PostgreSQL and Kafka
	@bash $(LOCAL)/with-servers.sh bash -c 'WAVE_DATABASE_URL="$$WAVE_TEST_DATABASE_URL" WAVE_KAFKA_BOOTSTRAP="$$WAVE_TEST_KAFKA_BOOTSTRAP" $(VENV)/bin/wave demo --stack'

images: setup ## WAVE's image (every role, the relay, the API), tagged wave:<revision> and wave:latest
	@bash deploy/images/build.sh

images-lock: setup ## rewrite deploy/images/requirements.lock from the pyproject.toml ranges
	@bash deploy/images/lock.sh

demo-images: setup ## the demo story with the relay and the six services as containers of the image
	@bash $(LOCAL)/with-servers.sh --docker bash deploy/images/demo.sh

bench: setup ## benchmarks; results in bench/results/latest.json (installs bench/requirements.txt: the peers)
	@$(PY) -m pip install -q -r bench/requirements.txt
	@bash $(LOCAL)/with-servers.sh $(PY) bench/run.py

lint: setup
	@$(VENV)/bin/ruff check apps libs services tests bench
	@$(PY) -m wave_events.schemas --check libs/events/schemas
	@$(PY) -m wave_runtime.kafka.asyncapi --check docs/api/asyncapi.json

schemas: setup ## rewrite the checked-in JSON Schemas and the AsyncAPI document from the models
	@$(PY) -m wave_events.schemas libs/events/schemas
	@$(PY) -m wave_runtime.kafka.asyncapi docs/api/asyncapi.json

clean: down
	rm -rf .wave
