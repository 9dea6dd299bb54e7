#!/usr/bin/env bash
# Runs every editor test: the TextMate grammar through vscode-textmate (tokenize.mjs)
# and the Vim plugin through a headless Vim (vim_syntax_test.sh).
#
#   editors/tests/run.sh                      check
#   UPDATE_SNAPSHOTS=1 editors/tests/run.sh   rewrite snapshots/*.scopes, then read the diff
#
# Needs the pinned node packages: run `npm ci` here once (.ci/run does). The tests
# themselves never touch the network.
# Ends with `N passed, N failed`; the exit status is non-zero when anything failed.

set -u

cd "$(dirname "$0")"

n_passed=0
n_failed=0

# Adds the `RESULT passed=N failed=M` line of a test's output to the totals; a test
# that crashed before printing it counts as one failure.
add_result() {
  local output="$1" status="$2" result
  result="$(printf '%s\n' "$output" | grep '^RESULT passed=[0-9]* failed=[0-9]*$' | tail -n 1)"
  if [ -z "$result" ]; then
    n_failed=$((n_failed + 1))
    return
  fi
  local passed="${result#RESULT passed=}"
  passed="${passed%% *}"
  local failed="${result##*failed=}"
  n_passed=$((n_passed + passed))
  n_failed=$((n_failed + failed))
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    n_failed=$((n_failed + 1))
  fi
}

echo "== TextMate grammar (vscode-textmate)"
if [ -d node_modules ]; then
  output="$(node tokenize.mjs 2>&1)"
  status=$?
  printf '%s\n' "$output" | grep -v '^RESULT '
  add_result "$output" "$status"
else
  echo "FAIL node_modules is missing: run \`npm ci\` in editors/tests; tokenizer test not run"
  n_failed=$((n_failed + 1))
fi

echo "== Vim plugin (headless vim)"
output="$(bash vim_syntax_test.sh 2>&1)"
status=$?
printf '%s\n' "$output" | grep -v '^RESULT '
add_result "$output" "$status"

echo "$n_passed passed, $n_failed failed"
[ "$n_failed" -eq 0 ]
