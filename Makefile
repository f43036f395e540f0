# The two commands: `make run` (the engine) and `make test` (the whole suite).
# Both install what is missing (Debian packages, Whisper models) first.

CARGO ?= cargo
IVR_DEBUG := target/debug/ivr
IVR_RELEASE := target/release/ivr

.PHONY: run test deps models-test models-run eval bench fixtures lint

deps:
	@scripts/install-deps.sh

# Tests use the dev profile (dependencies are optimised there too). The
# binary that installs the models comes from the test build itself: a plain
# `cargo build` resolves dependency features without the dev-dependencies,
# so every shared crate (whisper.cpp included) would be compiled twice.
models-test: deps
	$(CARGO) test --no-run
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

eval: deps
	$(CARGO) build --release --bin ivr
	$(IVR_RELEASE) models install tiny.en
	$(IVR_RELEASE) models install base
	$(IVR_RELEASE) eval

# Every benchmark in one go on the release build (about 20 minutes on 2
# cores): recognition against faster-whisper, media cost, held calls,
# memory, latency under load, sipp setup rate. The figures replace the
# generated section of BENCHMARKS.md; raw results stay in var/bench/runs/.
bench: deps
	nice -n 10 $(CARGO) build --release --bin ivr
	$(IVR_RELEASE) models install tiny.en
	scripts/bench-all.sh

fixtures: deps
	audio-fixtures/render.sh

lint: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
