#!/usr/bin/env bash
# Every test of gif-chat, from a fresh machine: installs what it needs (idempotent), then runs
# formatting and lint checks, the Rust test suites (core conversations, the behaviour suite
# against all three runtimes, headless Chromium, descriptor exhaustion, load generator at small
# scale), Autobahn conformance, nginx in front, and each fuzz target briefly.
#
#   bash tests/run.sh            # everything
#   FUZZ_SECONDS=0 bash tests/run.sh   # skip fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

step() { printf '\n==> %s\n' "$*"; }

# ---- dependencies (each installed only when missing) ----
need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium chromium-driver)
# Not `fc-list | grep -q`: grep leaving at the first match kills fc-list with SIGPIPE, and
# pipefail then calls the font missing. The whole listing is read first.
fonts=$(fc-list 2>/dev/null) || fonts=""
grep -qi nanum <<<"$fonts" || need_apt+=(fonts-nanum)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v prlimit >/dev/null || need_apt+=(util-linux)
# A real PostgreSQL for the store's tests (io/tests/store_postgres.rs makes and starts its own
# clusters, as the postgres user when run as root: runuser is util-linux's).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null || need_apt+=(postgresql)
# A real Redis 7 for the cluster bridge's tests (each test starts its own on a private port).
command -v redis-server >/dev/null || need_apt+=(redis-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${need_apt[@]}"
fi
if ! command -v kosoku >/dev/null; then
  step "pip install kosoku"
  python3 -m pip install -q kosoku
fi
# npm ci wherever the lock file changed since the last install (npm keeps a copy of the lock
# it installed in node_modules/.package-lock.json), so a new dependency is never skipped.
npm_ci() {
  local dir=$1 why=$2
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    step "npm ci ($dir: $why)"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}
npm_ci tests/browser "Playwright for the browser tests"
npm_ci tests/peers/socketio-node "the reference socket.io server, its Redis adapter and client"
npm_ci tests/sio "socket.io-client for the client scenarios and the chat tests"
if [ "$FUZZ_SECONDS" != 0 ] && ! cargo fuzz --version >/dev/null 2>&1; then
  step "cargo install cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# ---- static checks ----
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets -q -- -D warnings
step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q

# ---- Rust suites ----
step "cargo build (all binaries)"
cargo build --workspace --bins -q
step "cargo test"
# Every suite runs even after one fails (--no-fail-fast), so one run shows every failure. With
# pipefail the pipeline fails when cargo does, although tee succeeds.
TEST_LOG="${TMPDIR:-/tmp}/gif-chat-cargo-test.log"
if ! cargo test --workspace --no-fail-fast -q 2>&1 | tee "$TEST_LOG"; then
  echo "cargo test failed (full log: $TEST_LOG)" >&2
  exit 1
fi

EXTRA="$ROOT/tests/extra.d"
if [ -d "$EXTRA" ]; then
  for script in "$EXTRA"/*.sh; do
    [ -e "$script" ] || continue
    step "$(basename "$script")"
    bash "$script"
  done
fi

if [ "$FUZZ_SECONDS" != 0 ] && [ -f fuzz/run.sh ]; then
  step "fuzz ($FUZZ_SECONDS s per target)"
  bash fuzz/run.sh "$FUZZ_SECONDS"
fi

step "all tests passed"
