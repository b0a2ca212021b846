#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a while, one after the other, starting from the
# committed seeds: `bash fuzz/run.sh [seconds per target]` (default 30).
#
# The corpus grows in fuzz/corpus/<target> (git-ignored) across runs; crashes land in
# fuzz/artifacts/<target>/. Exits non-zero if any target crashed, timed out or ran out of memory.
# Everything runs under `nice` and single-job: the machine is shared.
set -euo pipefail

seconds="${1:-30}"
targets=(http_stream ws_frames connection socketio eio_decoders eio_sessions)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# cargo-fuzz needs a nightly compiler; use it explicitly unless the default already is one.
toolchain=()
if [[ "$(rustc --version)" != *nightly* ]]; then
    toolchain=(+nightly)
fi
cargo_fuzz=(nice -n 10 cargo "${toolchain[@]}" fuzz)
# -a: debug assertions and overflow checks on, so that arithmetic overflow and the core's own
# debug_asserts count as crashes.
build_flags=(-a --fuzz-dir fuzz)

"${cargo_fuzz[@]}" build "${build_flags[@]}"

failed=()
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    cp -n fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
    dict=()
    if [[ "$target" == http_stream || "$target" == connection ]]; then
        dict=(-dict=fuzz/http.dict)
    fi
    echo "==> $target for ${seconds}s"
    if ! "${cargo_fuzz[@]}" run "${build_flags[@]}" "$target" "$corpus" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${dict[@]}"; then
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz/run.sh: crashes in: ${failed[*]} (see fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz/run.sh: no crash in ${targets[*]} (${seconds}s each)"
