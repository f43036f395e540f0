# The two commands: `make run` (the engine) and `make test` (the whole suite).
# Both install what is missing (Debian packages, Whisper models) first.

CARGO ?= cargo
IVR_DEBUG := target/debug/ivr
IVR_RELEASE := target/release/ivr

.PHONY: run test deps models-test models-run eval bench fixtures lint

deps:
	@scripts/install-deps.sh

# Tests use the dev profile (dependencies are optimised there too).
models-test: deps
	$(CARGO) build --bin ivr
	$(IVR_DEBUG) models install tiny.en
	$(IVR_DEBUG) models install base

models-run: deps
	$(CARGO) build --release --bin ivr
	$(IVR_RELEASE) models install tiny.en

# The engine: SIP on 127.0.0.1:5060 (UDP and TCP), settings in config/ivr.toml.
run: models-run
	$(IVR_RELEASE) serve --config config/ivr.toml

test: models-test
	$(CARGO) test --no-fail-fast

eval: models-test
	$(CARGO) build --release --bin ivr
	$(IVR_RELEASE) eval

# Latency and capacity of a running engine (release build), printed.
bench: models-run
	scripts/bench-server.sh

fixtures: deps
	audio-fixtures/render.sh

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
