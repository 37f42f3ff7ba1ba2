# omnihub developer commands. `make run` and `make test` are the two set-up commands.
CARGO ?= cargo

.PHONY: demo run test contract lint fmt build bench clean

## See the whole pipeline on one machine: builds in release mode, starts the server on a fresh
## SQLite file with fake Evolution and agent servers, plays a conversation on two instances,
## shows every reply and the message log, then keeps running until Ctrl-C.
demo:
	$(CARGO) build --release --locked --bins
	./target/release/omnihub-sandbox demo

## Build in release mode and start omnihub-server on the embedded SQLite default
## (./data/omnihub.db), configured from the environment and .env. Ctrl-C stops it.
## The CLI is built alongside: ./target/release/omnihub-instance --help
run:
	$(CARGO) build --release --locked --bin omnihub-server --bin omnihub-instance
	./target/release/omnihub-server

## The whole test suite: SQLite always; PostgreSQL when OMNIHUB_TEST_POSTGRES_URL is set. Then
## the embedding example runs, as another Rust program would run the pipeline.
test:
	@if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then \
		echo "== chromium or chromium-driver is not installed: the console's browser test is SKIPPED (apt-get install chromium chromium-driver)"; \
	fi
	@if [ -n "$$OMNIHUB_TEST_POSTGRES_URL" ]; then \
		echo "== Running the SQLite and PostgreSQL test suites"; \
		$(CARGO) test --workspace --locked; \
	else \
		echo "== OMNIHUB_TEST_POSTGRES_URL is not set: PostgreSQL tests are SKIPPED, running the SQLite suite only"; \
		$(CARGO) test --workspace --locked -- --skip postgres && \
		echo "== PostgreSQL tests were SKIPPED (set OMNIHUB_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test to run them)"; \
	fi
	@echo "== Running the embedding example (crates/omnihub-core/examples/embed.rs)"
	$(CARGO) run --locked --quiet -p omnihub-core --example embed

## The API contract: starts omnihub-server on a temporary SQLite database, seeds instances and
## messages, validates the served OpenAPI document and runs Schemathesis against it (every
## check, every phase, fixed seed). Installs pinned tools into target/contract-venv.
SCHEMATHESIS_VERSION := 4.32.5
SPEC_VALIDATOR_VERSION := 0.9.0
CONTRACT_VENV := target/contract-venv
contract:
	@if ! command -v python3 >/dev/null 2>&1; then \
		echo "== python3 is not installed: the API contract check (Schemathesis) is SKIPPED"; \
		exit 0; \
	fi; \
	set -e; \
	if [ ! -x $(CONTRACT_VENV)/bin/st ] || ! $(CONTRACT_VENV)/bin/st --version | grep -q "$(SCHEMATHESIS_VERSION)"; then \
		echo "== Installing schemathesis $(SCHEMATHESIS_VERSION) and openapi-spec-validator $(SPEC_VALIDATOR_VERSION) into $(CONTRACT_VENV)"; \
		python3 -m venv $(CONTRACT_VENV); \
		$(CONTRACT_VENV)/bin/pip install --quiet --disable-pip-version-check \
			"schemathesis==$(SCHEMATHESIS_VERSION)" "openapi-spec-validator==$(SPEC_VALIDATOR_VERSION)"; \
	fi; \
	$(CARGO) build --locked --bin omnihub-server; \
	echo "== Checking the API against its OpenAPI document"; \
	python3 scripts/contract.py target/debug/omnihub-server $(CONTRACT_VENV)/bin

## Formatting and lints, as CI runs them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build --workspace --release --locked

## The benchmark scenarios (about 25 minutes: standard, then overload; SQLite, and PostgreSQL when
## OMNIHUB_BENCH_POSTGRES_URL names a database it may wipe). Writes docs/benchmarks.md.
bench:
	$(CARGO) build --release --locked --bins
	./target/release/omnihub-sandbox bench --out docs/benchmarks.md $(if $(OMNIHUB_BENCH_POSTGRES_URL),--postgres $(OMNIHUB_BENCH_POSTGRES_URL),)

clean:
	$(CARGO) clean
