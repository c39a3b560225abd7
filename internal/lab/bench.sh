#!/usr/bin/env bash
# bench.sh is `make bench`: what the provider costs at size, each figure
# beside a floor measured in the same run, printed as one table.
#
#   internal/lab/bench.sh [flags]            (make bench BENCH_FLAGS='...')
#
#   -n LIST        real server counts for the Terraform part, comma-separated
#                  (default 100,1000; add 5000 where time allows)
#   -per N         real servers per virtual server (default 10)
#   -nl-services N services of the netlink table (default 10000)
#   -nl-dests N    destinations per service (default 10)
#   -runs N        timed runs of each netlink measure (default 3)
#   -parts LIST    go,tf,netlink (default all three)
#   -keep          leave the VMs up at the end (a later run reuses them)
#   -small         the smallest run: -n 100 -nl-services 100 -runs 3
#
# Parts:
#   go       go test -bench in process: keepalived.conf for 10k services x
#            10 real servers (validation included) and validation alone,
#            against the issue's targets (0.5 s, 150 MB); view reads of one
#            real server at 100 and 10k objects, the 10k one against the 100.
#   tf       two director VMs with a real IPVS kernel (internal/lab/vm,
#            booted by internal/lab/cmd/vmlab on the bridge lvsc3-br,
#            10.123.0.0/24), keepalived engine, one VRRP instance; for each N:
#            terraform plan, apply, plan again (refresh; it must be empty)
#            and destroy of 2 directors + N/per services + N real servers,
#            each against the same graph of terraform_data resources (the
#            floor: Terraform's own cost for that many resources). Per
#            director: agent calls, applies and keepalived reloads, from the
#            provider's "host cost" debug lines.
#   netlink  on dir1, with the agent alone (no Terraform): an apply of the
#            netlink table from an empty store against `ipvsadm -R` of the
#            same rules, then one weight change in that table (an agent
#            apply putting one real server) against `ipvsadm -e`. Times are
#            taken inside the VM (bash's EPOCHREALTIME), so SSH is not in them.
#
# Needs root (bridge, tap devices), the VM kernel (internal/lab/deps.sh vm)
# and terraform. Not part of `make test`: timings are figures, never
# assertions. The machine is shared: run the small sizes while others work.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${LVS_CACHE:-$root/.cache}
work=$cache/bench
vm_dir=${LVS_BENCH_VM_DIR:-/var/tmp/lvsc3-bench/vms}
readonly BRIDGE=lvsc3-br HOST_ADDR=10.123.0.1/24 DIR1=10.123.0.21 DIR2=10.123.0.22 VIP=10.123.0.100
readonly PROVIDER_ADDRESS=registry.terraform.io/lvsops/lvs

sizes=100,1000 per=10 nl_services=10000 nl_dests=10 runs=3 parts=go,tf,netlink keep=
while [ $# -gt 0 ]; do
	case $1 in
	-n) sizes=$2 && shift ;;
	-per) per=$2 && shift ;;
	-nl-services) nl_services=$2 && shift ;;
	-nl-dests) nl_dests=$2 && shift ;;
	-runs) runs=$2 && shift ;;
	-parts) parts=$2 && shift ;;
	-keep) keep=1 ;;
	-small) sizes=100 nl_services=100 runs=3 ;;
	*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2 && exit 2 ;;
	esac
	shift
done
has() { [[ ",$parts," == *",$1,"* ]]; }

die() {
	printf 'bench: ERROR: %s\n' "$*" >&2
	exit 1
}
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

mkdir -p "$work"
table=$work/table.tsv
: >"$table"
# row MEASURE VALUE FLOOR UNIT [NOTE]: one line of the table; the ratio is
# VALUE/FLOOR (a floor of "-" leaves it out).
row() {
	local ratio=-
	if [ "$3" != - ] && [ "$2" != - ]; then
		ratio=$(awk -v a="$2" -v b="$3" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$ratio" "$4" "${5:-}" >>"$table"
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

cd "$root"

# ---------------------------------------------------------------- go
if has go; then
	log "go test -bench: render 10k x 10, validation, view reads"
	go test -run '^$' -bench 'Keepalived10k|Validate10k' -benchmem -count 3 ./render/ | tee "$work/go-render.txt" >&2
	go test -run '^$' -bench 'ViewRealServerReads' -benchmem -count 3 ./internal/cluster/ | tee "$work/go-view.txt" >&2
	# bm FILE NAME COLUMN: the median of a benchmark's column (ns/op, B/op).
	bm() {
		awk -v name="$2" -v unit="$3" '$1 ~ "^Benchmark" name "(-[0-9]+)?$" {
			for (i = 2; i < NF; i++) if ($(i + 1) == unit) print $i }' "$1" | median
	}
	ka_ns=$(bm "$work/go-render.txt" Keepalived10k ns/op) ka_b=$(bm "$work/go-render.txt" Keepalived10k B/op)
	va_ns=$(bm "$work/go-render.txt" Validate10k ns/op) va_b=$(bm "$work/go-render.txt" Validate10k B/op)
	row "render keepalived.conf 10k svc x 10 rs (s)" "$(awk -v n="$ka_ns" 'BEGIN { printf "%.3f", n / 1e9 }')" 0.5 s "floor = the issue's target"
	row "render keepalived.conf 10k svc x 10 rs (MB)" "$(awk -v n="$ka_b" 'BEGIN { printf "%.1f", n / 1e6 }')" 150 MB "floor = the issue's target"
	row "validation alone, 10k x 10 (s)" "$(awk -v n="$va_ns" 'BEGIN { printf "%.3f", n / 1e9 }')" - s
	row "validation alone, 10k x 10 (MB)" "$(awk -v n="$va_b" 'BEGIN { printf "%.1f", n / 1e6 }')" - MB
	for shape in spread one-service; do
		small=$(bm "$work/go-view.txt" "ViewRealServerReads/$shape/100" ns/op)
		large=$(bm "$work/go-view.txt" "ViewRealServerReads/$shape/10000" ns/op)
		row "view: read one real server at 10k objects ($shape)" "$large" "$small" ns "floor = the same read at 100 objects"
	done
fi

# ---------------------------------------------------------------- the VMs
director() {
	ssh -i "$work/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=20 \
		-o UserKnownHostsFile="$vm_dir/known_hosts" -o StrictHostKeyChecking=yes "root@$1" "${@:2}"
}
to_director() { # to_director HOST LOCAL REMOTE
	scp -q -i "$work/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o UserKnownHostsFile="$vm_dir/known_hosts" -o StrictHostKeyChecking=yes "$2" "root@$1:$3"
}
vmlab() { "$work/bin/vmlab" "$1" -dir "$vm_dir" "${@:2}"; }

if has tf || has netlink; then
	[ "$(id -u)" -eq 0 ] || die "the VM lab needs root (a bridge and tap devices)"
	internal/lab/deps.sh apt terraform vm >&2
	mkdir -p "$work/bin"
	go build -o "$work/bin/vmlab" ./internal/lab/cmd/vmlab
	go build -o "$work/bin/benchreq" ./internal/lab/cmd/benchreq
	[ -f "$work/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C lvs-bench -f "$work/id_ed25519"
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link add "$BRIDGE" type bridge
		ip addr add "$HOST_ADDR" dev "$BRIDGE"
	fi
	ip link set "$BRIDGE" up
	log "two director VMs on $BRIDGE (boots take a minute or more under TCG)"
	began=$(now)
	vmlab up -bridge "$BRIDGE" -vm "dir1=$DIR1/24,dir2=$DIR2/24" -authorize "$work/id_ed25519" -timeout 10m >&2 ||
		die "the director VMs did not come up (see $vm_dir/serve.log)"
	log "VMs up after $(since "$began") s"
fi
teardown() {
	if [ -z "$keep" ] && [ -x "$work/bin/vmlab" ]; then
		vmlab down >/dev/null 2>&1 || true
		ip link del "$BRIDGE" 2>/dev/null || true
	fi
}
trap teardown EXIT

# ---------------------------------------------------------------- terraform
if has tf; then
	make -s build >&2
	cat >"$work/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "$PROVIDER_ADDRESS" = "$root"
  }
  direct {}
}
EOF
	export TF_CLI_CONFIG_FILE=$work/terraformrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

	# config KIND N DIR: the graph of 2 directors, N/per services and N real
	# servers, as lvs resources or as terraform_data (the floor).
	config() {
		local kind=$1 n=$2 dir=$3 services=$((($2 + per - 1) / per))
		rm -rf "$dir" && mkdir -p "$dir"
		if [ "$kind" = floor ]; then
			cat >"$dir/main.tf" <<EOF
resource "terraform_data" "dir" {
  for_each = { dir1 = "$DIR1", dir2 = "$DIR2" }
  input    = { host = each.value, state = each.key == "dir1" ? "MASTER" : "BACKUP" }
}
resource "terraform_data" "vs" {
  count = $services
  input = { directors = [for d in terraform_data.dir : d.id], address = cidrhost("10.124.0.0/16", count.index + 1), port = 80 }
}
resource "terraform_data" "rs" {
  count = $n
  input = { virtual_server_id = terraform_data.vs[floor(count.index / $per)].id, address = cidrhost("172.16.0.0/12", count.index + 1) }
}
EOF
			return
		fi
		cat >"$dir/main.tf" <<EOF
terraform {
  required_providers {
    lvs = { source = "lvsops/lvs" }
  }
}
provider "lvs" {
  user              = "root"
  private_key_path  = "$work/id_ed25519"
  known_hosts_files = ["$vm_dir/known_hosts"]
  connect_timeout   = "30s"
  command_timeout   = "10m"
}
resource "lvs_director" "dir" {
  for_each  = { dir1 = "$DIR1", dir2 = "$DIR2" }
  interface = "eth1"
  router_id = each.key
  ssh {
    host = each.value
  }
  vrrp_instance {
    name              = "VI_BENCH"
    state             = each.key == "dir1" ? "MASTER" : "BACKUP"
    virtual_router_id = 61
    priority          = each.key == "dir1" ? 150 : 100
    advert_int        = 1
    virtual_ipaddress {
      address = "$VIP/24"
    }
  }
}
resource "lvs_virtual_server" "vs" {
  count             = $services
  directors         = [for d in lvs_director.dir : d.id]
  address           = cidrhost("10.124.0.0/16", count.index + 1)
  port              = 80
  scheduler         = "wlc"
  forwarding_method = "dr"
}
resource "lvs_real_server" "rs" {
  count             = $n
  virtual_server_id = lvs_virtual_server.vs[floor(count.index / $per)].id
  address           = cidrhost("172.16.0.0/12", count.index + 1)
}
EOF
	}
	# tf_timed LOG DIR COMMAND ARGS...: runs terraform COMMAND in DIR and
	# prints its wall seconds; fails with the log's tail on error (plan
	# -detailed-exitcode exits 2 on a non-empty plan).
	tf_timed() {
		local log=$1 dir=$2 cmd=$3 began rc
		shift 3
		began=$(now)
		set +e
		terraform -chdir="$dir" "$cmd" -input=false -no-color "$@" >"$log" 2>&1
		rc=$?
		set -e
		if [ "$rc" -ne 0 ]; then
			tail -40 "$log" >&2
			die "terraform $cmd $* in $dir exited $rc (log: $log)"
		fi
		since "$began"
	}
	# costs LOG: "calls/applies/reloads" per director from the provider's
	# last "host cost" line of each host in a TF_LOG_PROVIDER=DEBUG log.
	costs() {
		local out="" h
		for h in "$DIR1" "$DIR2"; do
			out+=$(grep 'host cost' "$1" | grep -F "@$h:" | tail -1 | awk -v h="${h##*.}" '{
				calls = applies = reloads = 0
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^agent_calls=/) { sub(/.*=/, "", $i); calls = $i }
					if ($i ~ /^applies=/) { sub(/.*=/, "", $i); applies = $i }
					if ($i ~ /keepalived:[0-9]+/) { match($i, /keepalived:[0-9]+/); reloads = substr($i, RSTART + 11, RLENGTH - 11) }
				}
				printf ".%s: %s calls, %s applies, %s reloads; ", h, calls, applies, reloads }')
		done
		echo "${out%; }"
	}
	IFS=, read -ra ns <<<"$sizes"
	for n in "${ns[@]}"; do
		resources=$((2 + (n + per - 1) / per + n))
		for kind in floor lvs; do
			dir=$work/tf-$kind-$n
			config "$kind" "$n" "$dir"
			log "terraform $kind, $n real servers ($resources resources): plan, apply, plan, destroy"
			export TF_LOG_PROVIDER=DEBUG
			# (each in its own assignment, so that a failure stops the script)
			t=$(TF_LOG_PATH=$dir/plan.debug tf_timed "$dir/plan.log" "$dir" plan -out=tfplan)
			declare "plan_$kind=$t"
			t=$(TF_LOG_PATH=$dir/apply.debug tf_timed "$dir/apply.log" "$dir" apply tfplan)
			declare "apply_$kind=$t"
			t=$(TF_LOG_PATH=$dir/refresh.debug tf_timed "$dir/refresh.log" "$dir" plan -detailed-exitcode)
			declare "refresh_$kind=$t"
			t=$(TF_LOG_PATH=$dir/destroy.debug tf_timed "$dir/destroy.log" "$dir" destroy -auto-approve)
			declare "destroy_$kind=$t"
			unset TF_LOG_PROVIDER
		done
		d=$work/tf-lvs-$n
		row "terraform plan, create $resources resources (N=$n) (s)" "$plan_lvs" "$plan_floor" s "$(costs "$d/plan.debug")"
		row "terraform apply, create $resources resources (N=$n) (s)" "$apply_lvs" "$apply_floor" s "$(costs "$d/apply.debug")"
		row "terraform plan (refresh, empty) of $resources (N=$n) (s)" "$refresh_lvs" "$refresh_floor" s "$(costs "$d/refresh.debug")"
		row "terraform destroy of $resources (N=$n) (s)" "$destroy_lvs" "$destroy_floor" s "$(costs "$d/destroy.debug")"
	done
fi

# ---------------------------------------------------------------- netlink
if has netlink; then
	make -s agent >/dev/null
	nl=$work/netlink && rm -rf "$nl" && mkdir -p "$nl"
	"$work/bin/benchreq" -services "$nl_services" -dests "$nl_dests" -out "$nl"
	gzip -dc internal/agentbin/bin/lvs-agent-linux-amd64.gz >"$nl/lvs-agent"
	chmod 0755 "$nl/lvs-agent"
	for f in lvs-agent apply.json rules.txt weight.json weight.sh; do
		to_director "$DIR1" "$nl/$f" "/root/bench-$f"
	done
	# The table is the agent's alone on this VM: nothing stored, nothing in
	# the kernel, before each run (the Terraform part destroyed its own).
	reset='ipvsadm -C && rm -rf /var/lib/lvs-agent/objects /var/lib/lvs-agent/journal.json /var/lib/lvs-agent/ipvs-owned.json'
	# keepalived of the Terraform part (if any is left) must not program it.
	director "$DIR1" 'p=$(pidof keepalived) && kill $p; sleep 1; true'
	# remote_time CMD: CMD's wall seconds inside the VM; fails on its error.
	remote_time() {
		director "$DIR1" "s=\$EPOCHREALTIME; $1 >/root/bench-out.txt 2>&1 || { cat /root/bench-out.txt; exit 1; }
			e=\$EPOCHREALTIME; awk -v a=\$s -v b=\$e 'BEGIN { printf \"%.3f\", b - a }'"
	}
	dests=$((nl_services * nl_dests))
	restore=() agent=() weight=() edit=()
	for i in $(seq "$runs"); do
		log "netlink run $i/$runs: ipvsadm -R, then the agent, of $nl_services x $nl_dests"
		director "$DIR1" "$reset"
		t=$(remote_time 'ipvsadm -R < /root/bench-rules.txt')
		restore+=("$t")
		got=$(director "$DIR1" 'ipvsadm -Ln | grep -c -- "->.*Route"')
		[ "$got" -eq "$dests" ] || die "ipvsadm -R made $got destinations, want $dests"
		director "$DIR1" "$reset"
		t=$(remote_time '/root/bench-lvs-agent < /root/bench-apply.json')
		agent+=("$t")
		got=$(director "$DIR1" 'ipvsadm -Ln | grep -c -- "->.*Route"')
		[ "$got" -eq "$dests" ] || die "the agent made $got destinations, want $dests"
		t=$(remote_time '/root/bench-lvs-agent < /root/bench-weight.json')
		weight+=("$t")
		ops=$(director "$DIR1" cat /root/bench-out.txt | python3 -c 'import json,sys; print(json.load(sys.stdin).get("applied",{}).get("netlink_ops","?"))')
		t=$(remote_time 'sh /root/bench-weight.sh')
		edit+=("$t")
	done
	director "$DIR1" "$reset"
	m() { echo "$@" | median; }
	row "netlink engine: apply $nl_services svc x $nl_dests dest, empty store (s)" "$(m "${agent[*]}")" "$(m "${restore[*]}")" s \
		"floor = ipvsadm -R of the same rules; runs: agent ${agent[*]}, restore ${restore[*]}"
	row "one weight change in a $dests-destination table (s)" "$(m "${weight[*]}")" "$(m "${edit[*]}")" s \
		"floor = ipvsadm -e; agent netlink ops: $ops; runs: agent ${weight[*]}, ipvsadm ${edit[*]}"
fi

# ---------------------------------------------------------------- the table
{
	printf '\nmake bench, %s, %s, load %s\n' "$(date -u +%FT%TZ)" "$(git rev-parse --short HEAD)" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf 'measure\tvalue\tfloor\tratio\tunit\tnote\n'
	cat "$table"
} | column -t -s $'\t'
