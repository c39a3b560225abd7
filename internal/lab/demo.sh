#!/usr/bin/env bash
# demo.sh runs the provider's main job on the example cluster and prints what
# it produced. For now that is the render-only data sources: Terraform applies
# examples/scenarios/render-dr-cluster and the rendered files are printed.
#
# Run it through `make demo`, which installs the dependencies and builds
# ./terraform-provider-lvs first. Terraform finds that binary through a
# dev_overrides CLI configuration written to the cache directory and passed in
# TF_CLI_CONFIG_FILE: the user's own ~/.terraformrc is neither read nor changed.
# The scenario is applied from a copy in the cache, so its state never lands
# in examples/.
set -euo pipefail

readonly PROVIDER_ADDRESS=registry.terraform.io/lvsops/lvs
readonly SCENARIO=examples/scenarios/render-dr-cluster

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=${LVS_CACHE:-$root/.cache}/demo
scenario=$root/$SCENARIO

die() {
	printf 'demo: ERROR: %s\n' "$*" >&2
	exit 1
}

[ -x "$root/terraform-provider-lvs" ] ||
	die "no provider binary at $root/terraform-provider-lvs: run 'make demo' (it builds one)"
[ -d "$scenario" ] || die "the scenario $SCENARIO does not exist in this checkout"
command -v terraform >/dev/null || die "terraform is not on PATH: run 'make deps'"

mkdir -p "$work"
cat >"$work/terraformrc" <<EOF
# Written by internal/lab/demo.sh: use the provider built in this checkout.
provider_installation {
  dev_overrides {
    "$PROVIDER_ADDRESS" = "$root"
  }
  direct {}
}
EOF
export TF_CLI_CONFIG_FILE=$work/terraformrc
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1

rm -rf "$work/scenario"
cp -R "$scenario" "$work/scenario"
tf() { terraform -chdir="$work/scenario" "$@"; }

# Terraform's own report repeats every output twice; it goes to a log, shown
# whole when the apply fails.
log=$work/apply.log
printf '==> terraform apply in %s (copied to %s; log: %s)\n' "$SCENARIO" "$work/scenario" "$log"
if ! tf apply -auto-approve -input=false -no-color >"$log" 2>&1; then
	cat "$log" >&2
	die "terraform apply failed"
fi
grep -E '^(data\.|Apply complete)' "$log"

# Each output is a rendered file (or a set of them): strings are printed
# as they are, anything else in Terraform's own notation. The names come from
# the top-level keys of `terraform output -json`, which Terraform indents by two
# spaces, so no JSON tool is needed.
names=$(tf output -json | sed -n 's/^  "\([^"]*\)": {$/\1/p')
[ -n "$names" ] || die "$SCENARIO has no outputs to print"
for name in $names; do
	printf '\n==> %s\n' "$name"
	if text=$(tf output -raw "$name" 2>/dev/null); then
		printf '%s\n' "$text"
	else
		tf output "$name"
	fi
done
