#!/usr/bin/env bash
# Every check and every test of the project, Rust and Python, failing on the first that fails.
# Expects the project and its test extra installed (the README's test command does both), and
# runs from any directory.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# The OCPP 1.6 schemas come from the installed `ocpp` package; the Rust golden tests read them too,
# and must not skip in CI.
VOLTYARD_OCPP_SCHEMAS="$(python3 -c 'from voltyard.ocpp.codec import ocpp16_schema_dir; print(ocpp16_schema_dir())')"
export VOLTYARD_OCPP_SCHEMAS VOLTYARD_REQUIRE_SCHEMAS=1

step "rustfmt";  cargo fmt --all --check
step "clippy";   cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test"; cargo test -p voltyard-core --locked
step "ruff";     python3 -m ruff check python tests bench tui
                 python3 -m ruff format --check python tests bench tui
step "mypy";     python3 -m mypy --strict python/voltyard tui/src
step "stubtest"; python3 -m mypy.stubtest voltyard._native
# pytest exits non-zero (5) when it collects nothing, so an empty run fails here too (under xdist as well).
# Most of the suite waits (subprocesses, sockets, scenarios in real time), so it runs on worker processes
# (pytest-xdist): VOLTYARD_TEST_WORKERS of them, 2 unless set (0: serial, in this process). loadgroup hands
# the tests out one at a time as a worker frees up, and keeps an `xdist_group` on one worker;
# tests/conftest.py puts the long ones first.
step "pytest";   python3 -m pytest -n "${VOLTYARD_TEST_WORKERS:-2}" --dist loadgroup
