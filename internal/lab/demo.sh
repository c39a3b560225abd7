#!/usr/bin/env bash
# demo.sh runs the provider's main job on the local lab: it builds a real
# load-balancer cluster with Terraform and proves traffic flows through it.
#
#   internal/lab/demo.sh        (make demo)       bring the lab up, plan, apply, send traffic
#   internal/lab/demo.sh down   (make demo-down)  terraform destroy, then take the lab down
#
# The lab (root only):
#   - network namespaces, each its own "machine" with its own sshd, on the
#     bridge lvsdemo-br, 10.88.0.0/24 (internal/lab/netns): client, rs1, rs2
#     (web servers answering with their host name) and hap (haproxy);
#   - two qemu VMs with a real IPVS kernel (internal/lab/vm; this machine's
#     kernel has none) as the directors dir1 and dir2, their eth1 on the same
#     bridge (internal/lab/cmd/vmlab keeps them running in the background).
# Terraform applies examples/scenarios/demo-cluster to it: dir1/dir2 in VRRP
# holding the VIP 10.88.0.100, a DR virtual server on VIP:80 over rs1 and rs2
# (whose VIP on lo and ARP sysctls the provider sets up too), and an haproxy
# frontend on hap over the same servers.
#
# Run it through `make demo`, which builds ./terraform-provider-lvs with the
# agent embedded first. Terraform finds that binary through a dev_overrides CLI
# configuration written to the cache directory and passed in
# TF_CLI_CONFIG_FILE: the user's own ~/.terraformrc is neither read nor
# changed. The scenario is applied from a copy in the cache (its state too),
# so nothing lands in examples/. A second run reuses the running lab and
# the state: its plan is empty.
set -euo pipefail

readonly PROVIDER_ADDRESS=registry.terraform.io/lvsops/lvs
readonly SCENARIO=examples/scenarios/demo-cluster
readonly LAB=lvsdemo
readonly SUBNET=10.88.0.0/24
readonly LAB_HOSTS=client,rs1,rs2,hap # .11 .12 .13 .14, in this order
readonly CLIENT=10.88.0.11 RS1=10.88.0.12 RS2=10.88.0.13 HAP=10.88.0.14
readonly DIR1=10.88.0.21 DIR2=10.88.0.22
readonly VIP=10.88.0.100

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${LVS_CACHE:-$root/.cache}
work=$cache/demo
lab_dir=${LVS_LAB_DIR:-/var/tmp/lvs-lab}/$LAB
vm_dir=${LVS_DEMO_VM_DIR:-/var/tmp/lvs-demo/vms}
bridge=$LAB-br
began=$(date +%s)

die() {
	printf '\ndemo: ERROR: %s\n' "$*" >&2
	exit 1
}
section() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
elapsed() { echo "$(($(date +%s) - began))s"; }

[ "$(id -u)" -eq 0 ] || die "the lab needs root (network namespaces, a bridge, tap devices for the VMs)"
[ -x "$root/terraform-provider-lvs" ] ||
	die "no provider binary at $root/terraform-provider-lvs: run 'make demo' (it builds one)"
cd "$root"

# The lab's tools, built once into the cache (quicker than `go run` twice).
mkdir -p "$work/bin"
go build -o "$work/bin/lab" ./internal/lab/cmd/lab
go build -o "$work/bin/vmlab" ./internal/lab/cmd/vmlab
lab() { "$work/bin/lab" "$1" -name "$LAB" "${@:2}"; }
vmlab() { "$work/bin/vmlab" "$1" -dir "$vm_dir" "${@:2}"; }

# Terraform runs the provider built in this checkout, from a copy of the
# scenario in the cache.
cat >"$work/terraformrc" <<EOF
# Written by internal/lab/demo.sh: use the provider built in this checkout.
provider_installation {
  dev_overrides {
    "$PROVIDER_ADDRESS" = "$root"
  }
  direct {}
}
EOF
export TF_CLI_CONFIG_FILE=$work/terraformrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
tf() { terraform -chdir="$work/demo-cluster" "$@"; }
# tf_shown runs terraform with its output logged to $1 and shown as it comes,
# without the warning that development overrides are in effect (every
# command prints it, up to "...published releases." and a blank line) and
# without the outputs (the demo shows the ones it is about itself); on
# failure the whole log is printed.
tf_shown() {
	local log=$1 rc
	shift
	set +e
	tf "$@" 2>&1 | tee "$log" | awk '
		/^Warning: Provider development overrides are in effect/ { skip = 1; next }
		skip == 1 { if ($0 ~ /releases\.$/) skip = 2; next }
		skip == 2 { skip = 0; if ($0 ~ /^[[:space:]]*$/) next }
		/^Outputs:$/ { outputs = 1 }
		outputs != 1 { print; fflush() }'
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" -eq 0 ] || cat "$log" >&2
	return "$rc"
}

# tf_summary runs terraform with its output logged to $1, showing only what
# a plan will do: one line per resource ("# lvs_director.dir["dir1"] will be
# created") and the "Plan:" count (or "No changes."); on failure the whole
# log is printed.
tf_summary() {
	local log=$1
	shift
	if ! tf "$@" >"$log" 2>&1; then
		cat "$log" >&2
		return 1
	fi
	grep -E '^  # [^(]|^Plan: |^No changes\.|^Changes to Outputs' "$log" | sed 's/^  # /  /' || true
}

# host runs a command on a lab namespace host over its sshd.
host() { ssh -F "$lab_dir/ssh_config" -o BatchMode=yes "$@"; }
# director runs a command on a director VM (the lab's key is authorized there).
director() {
	ssh -i "$lab_dir/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o UserKnownHostsFile="$vm_dir/known_hosts" -o StrictHostKeyChecking=yes "root@$1" "${@:2}"
}
# client runs a command in the client's network namespace.
client() { ip netns exec "$LAB-client" "$@"; }

down() {
	section "terraform destroy"
	if [ -f "$work/demo-cluster/terraform.tfstate" ] && lab status >/dev/null 2>&1 && vmlab status >/dev/null 2>&1; then
		tf destroy -auto-approve -input=false -no-color | grep -E '^(lvs_|data\.|Destroy complete|Error|│)' || true
		[ "${PIPESTATUS[0]}" -eq 0 ] || die "terraform destroy failed (the labs are left up; rerun 'make demo-down')"
	else
		echo "no state or no lab: nothing to destroy"
	fi
	rm -f "$work/demo-cluster/terraform.tfstate" "$work/demo-cluster/terraform.tfstate.backup" "$work/demo-cluster/tfplan"
	section "lab down"
	vmlab down
	lab down 2>/dev/null || echo "lab $LAB: not up"
	printf '\ndemo: torn down in %s\n' "$(elapsed)"
}

if [ "${1:-up}" = down ]; then
	down
	exit 0
fi
[ "${1:-up}" = up ] || die "usage: $0 [up|down]"

section "1/8 dependencies (internal/lab/deps.sh: Debian packages, terraform, the VM kernel)"
internal/lab/deps.sh apt terraform vm
command -v terraform >/dev/null || die "terraform is not on PATH: run 'make deps'"
terraform version | sed -n 1p # sed reads to the end: head would SIGPIPE terraform under pipefail

section "2/8 the namespace lab: $LAB_HOSTS on $bridge ($SUBNET)"
fresh=
if lab status 2>/dev/null | grep -q DOWN || ! lab status >/dev/null 2>&1; then
	lab up -subnet "$SUBNET" -hosts "$LAB_HOSTS" >/dev/null
	fresh=1
fi
lab status

section "3/8 the directors: two VMs with an IPVS kernel, eth1 on $bridge"
if [ -n "$fresh" ]; then
	vmlab down >/dev/null # their taps were on the old bridge
fi
vmlab up -bridge "$bridge" -vm "dir1=$DIR1/24,dir2=$DIR2/24" -authorize "$lab_dir/id_ed25519" -timeout 8m |
	tee "$work/vmlab.log" || die "the director VMs did not come up (see $vm_dir/serve.log and each VM's console.log)"
grep -q 'already up' "$work/vmlab.log" || fresh=1

section "4/8 web servers on rs1 and rs2 (busybox httpd on :80, answering with the host name)"
for rs in rs1=$RS1 rs2=$RS2; do
	name=${rs%=*} addr=${rs#*=}
	if ! host "$name" 'wget -q -O- -T 2 http://127.0.0.1/ 2>/dev/null | grep -q "hello from"'; then
		# shellcheck disable=SC2016 # expanded on the host
		host "$name" 'mkdir -p /tmp/demo-www && echo "hello from $(hostname)" >/tmp/demo-www/index.html &&
			busybox httpd -p 80 -h /tmp/demo-www'
	fi
	printf '%s (%s) answers: %s\n' "$name" "$addr" "$(client curl -sS --max-time 3 "http://$addr/" 2>&1)"
done
# Debian's own haproxy.cfg (copied into hap) is not the provider's: it would
# refuse to overwrite it. Put it aside, as one would on a new host.
# shellcheck disable=SC2016 # expanded on the host
host hap 'f=/etc/haproxy/haproxy.cfg; [ ! -f $f ] || head -1 $f | grep -q "terraform-provider-lvs" || mv -f $f $f.debian'

section "5/8 the configuration (scenario $SCENARIO, copied to $work/demo-cluster)"
mkdir -p "$work/demo-cluster"
cp "$root/$SCENARIO"/*.tf "$work/demo-cluster/"
if [ -n "$fresh" ]; then
	# New hosts: the state of an earlier run describes hosts that are gone.
	rm -f "$work/demo-cluster/terraform.tfstate" "$work/demo-cluster/terraform.tfstate.backup"
fi
cat >"$work/demo-cluster/terraform.tfvars" <<EOF
# Written by internal/lab/demo.sh for the local lab.
ssh_private_key_path = "$lab_dir/id_ed25519"
known_hosts_files    = ["$lab_dir/known_hosts", "$vm_dir/known_hosts"]
interface            = "eth1"
directors            = ["$DIR1", "$DIR2"]
real_servers         = { rs1 = "$RS1", rs2 = "$RS2" }
haproxy_host         = "$HAP"
vip                  = "$VIP"
EOF
cat "$work/demo-cluster/terraform.tfvars"
# No `terraform init`: the scenario needs no provider but lvs, which the
# dev_overrides configuration points at this checkout's binary; with
# overrides Terraform advises against init (it would ask the registry for
# lvsops/lvs and fail offline).
echo "(no terraform init: dev_overrides in $work/terraformrc serve lvsops/lvs from $root)"

section "6/8 terraform plan (the summary; the whole plan is in $work/plan.log)"
tf_summary "$work/plan.log" plan -input=false -no-color -out=tfplan || die "terraform plan failed"

section "7/8 terraform apply"
apply_began=$(date +%s)
tf_shown "$work/apply.log" apply -input=false -no-color tfplan || die "terraform apply failed"
printf 'apply took %ss\n' "$(($(date +%s) - apply_began))"
echo
echo "The keepalived.conf the provider rendered and installed on dir1 ($DIR1):"
director "$DIR1" cat /etc/keepalived/keepalived.conf | sed 's/^/  /'
if grep -q 'Check block assertion failed' "$work/apply.log"; then
	cat <<'EOF'

Note: the split-brain check above was read right after keepalived's last
reload (each change of the IPVS table reloads it), while the directors were
still electing a MASTER: both start as BACKUP and dir1 takes over after about
three adverts. It is read again below, once the VIP answers.
EOF
fi

section "8/8 traffic: from the client namespace ($CLIENT)"
# VRRP elects dir1 within a few adverts of keepalived's start.
for i in $(seq 1 30); do
	client curl -s --max-time 2 "http://$VIP/" >/dev/null && break
	[ "$i" -lt 30 ] || die "no answer through the VIP $VIP after 30 tries (dir1: $(director "$DIR1" ipvsadm -Ln 2>&1))"
	sleep 1
done
holder=none
for d in $DIR1 $DIR2; do
	director "$d" "ip -o addr show dev eth1" | grep -q " $VIP/" && holder=$d
done
echo "the VIP $VIP is on $holder (dir1 = $DIR1, dir2 = $DIR2)"
echo
echo "curl http://$VIP/   (IPVS round robin, direct routing: the answer comes straight from the real server)"
for i in 1 2 3 4 5 6; do
	printf '  request %d: %s\n' "$i" "$(client curl -sS --max-time 3 "http://$VIP/" 2>&1)"
done
echo
echo "curl http://$HAP/   (the haproxy frontend 'web' on hap)"
for i in 1 2; do
	printf '  request %d: %s\n' "$i" "$(client curl -sS --max-time 3 "http://$HAP/" 2>&1)"
done

# The data sources read again, now that traffic went through and VRRP has
# settled.
tf apply -refresh-only -auto-approve -input=false -no-color >"$work/refresh.log" 2>&1 ||
	{ cat "$work/refresh.log"; die "terraform refresh failed"; }
holder_name=none
[ "$holder" = "$DIR1" ] && holder_name=dir1
[ "$holder" = "$DIR2" ] && holder_name=dir2
echo
echo "IPVS on the MASTER ($holder_name) as lvs_director_status reads it, its ipvs_table attribute"
echo "(the ipvsadm -Ln layout; InActConn: the connections just served, per real server):"
# Read from the state (terraform show -json), not through an output: the
# counters change with every connection, and an output of them would show
# as a change in every plan.
tf show -json | python3 -c '
import json, sys
want = "data.lvs_director_status.dir[\"%s\"]" % sys.argv[1]
for r in json.load(sys.stdin)["values"]["root_module"]["resources"]:
    if r["address"] == want:
        print(r["values"]["ipvs_table"], end="")
        break
else:
    print("(no director holds the VIP)")
' "$holder_name" | sed 's/^/  /'

echo
echo "Split-brain check, read again now that VRRP has settled (terraform apply -refresh-only):"
grep -A8 -E '^Warning: Check block assertion failed' "$work/refresh.log" || true
printf 'vrrp_masters = '
tf output vrrp_masters
masters=$(tf output -json vrrp_masters | tr -d ' \n' | sed -n 's/.*"masters":\([0-9]*\).*/\1/p')
if [ "$masters" = 1 ]; then
	echo "VI_WEB has exactly one MASTER: no split brain."
else
	echo "VI_WEB has $masters MASTERs: the check block warned above."
fi

section "done in $(elapsed)"
cat <<EOF
The cluster runs. Try:
  ip netns exec $LAB-client curl http://$VIP/            # through the VIP
  ssh -F $lab_dir/ssh_config rs1                      # a real server (ip addr show lo)
  ssh -i $lab_dir/id_ed25519 -o UserKnownHostsFile=$vm_dir/known_hosts root@$DIR1   # dir1: ipvsadm -Ln
  TF_CLI_CONFIG_FILE=$work/terraformrc terraform -chdir=$work/demo-cluster plan

Tear it all down (terraform destroy, then the VMs and the namespaces):
  make demo-down
EOF
