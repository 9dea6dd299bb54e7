#!/usr/bin/env bash
# Benchmarks `facs build`: builds the release binary, then times it on generated
# projects (see benches/README.md).
#
#   benches/run.sh                    # N = 100 1000 10000
#   benches/run.sh 100 500            # chosen sizes
#   benches/run.sh --case render      # 1000 instances x 20 templates
#   benches/run.sh --case lsp         # facs lsp: didChange to diagnostics, 1000 instances
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
