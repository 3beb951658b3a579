#!/usr/bin/env bash
# Runs the benchmark against a committed gc-core (default: HEAD) rather than
# the working tree: `bench/snapshot.sh [REV] [bench args...]`. It still writes
# BENCHMARKS.md and bench/ratios.svg in this repository.
set -euo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
rev=${1:-HEAD}
shift || true
snap=$(mktemp -d)
trap 'rm -rf "$snap"' EXIT
git -C "$repo" archive "$rev" | tar -x -C "$snap"
rm -rf "$snap/bench" && mkdir "$snap/bench"
cp -r "$repo/bench/Cargo.toml" "$repo/bench/Cargo.lock" "$repo/bench/src" "$repo/bench/cpython_anchor.py" "$snap/bench/"
# A gc-core from before `gc_core::sync` is benchmarked without its sync
# contender (the bench feature `gc-core-sync`, on by default).
features=()
if ! grep -q '^pub mod sync;' "$snap/gc-core/src/lib.rs"; then
  features=(--no-default-features)
fi
CARGO_TARGET_DIR="$repo/bench/target/snapshot" BENCH_OUT_DIR="$repo" \
  BENCH_GC_CORE_REV="$(git -C "$repo" rev-parse --short "$rev")" \
  cargo run --release --manifest-path "$snap/bench/Cargo.toml" "${features[@]}" -- "$@"
