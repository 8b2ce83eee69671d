#!/usr/bin/env bash
# The main job, end to end, against the built-in GitHub sandbox: plan, apply, plan again (in
# sync), and the registry listing. State goes to .demo/ and starts fresh on every run.
set -euo pipefail
cd "$(dirname "$0")/.."

export CCM_HOME="$PWD/.demo"
rm -rf "$CCM_HOME"
ccm() {
    .venv/bin/ccm --github sandbox --sandbox-seed examples/sandbox.yaml \
        --pipelines-dir examples/pipelines.d "$@"
}
# Tables get 160 columns when the output goes to a file or a pipe; a terminal sets its own width.
[ -t 1 ] || export COLUMNS=160
if [ -t 1 ]; then
    step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    step() { printf '\n== %s\n' "$*"; }
fi

step "1. ccm validate: the example specs"
ccm validate

step "2. ccm reconcile --dry-run: what would change and why (exit 2: changes pending)"
status=0
ccm reconcile --dry-run || status=$?
[ "$status" -eq 2 ] || { echo "expected exit 2 from the first dry run, got $status" >&2; exit 1; }

step "3. ccm reconcile: converge"
ccm reconcile

step "4. ccm reconcile --dry-run again: in sync (exit 0)"
ccm reconcile --dry-run

step "5. ccm reconcile on an idle fleet: every GitHub answer is a 304, free of rate limit"
ccm reconcile

step "6. ccm pipelines: the registry ($CCM_HOME/pipelines.json)"
ccm pipelines
