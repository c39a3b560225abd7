#!/usr/bin/env bash
# deps.sh installs what the tests and the demo need, and only what is missing:
#
#   apt        Debian packages: the daemons whose real checks the tests run
#              (keepalived -t, haproxy -c), ipvsadm, iproute2, sshd for the
#              network-namespace lab, and for the VM lab qemu, busybox-static
#              and the tools that build its initramfs and disk (kmod, cpio,
#              lz4, e2fsprogs); sudo for the transport's non-root tests,
#              python3 and curl for the labs' HTTP servers and clients,
#              psmisc (killall, used by track scripts) and procps; gnupg for
#              the release check's throwaway signing key (.ci/release-check).
#   terraform  the Terraform CLI, built from source with `go install` into the
#              cache bin dir when none is on PATH (only the Go module proxy and
#              Debian's archive are assumed reachable: no binary downloads).
#   tofu       the OpenTofu CLI the acceptance tests run a second time with,
#              built from its module source into the cache bin dir (once: a
#              binary that reports the pinned version is kept). `go install`
#              refuses OpenTofu for its replace directives, so the module is
#              downloaded and built inside its own directory.
#   goreleaser the release tool that CI checks .goreleaser.yml with (and
#              builds a snapshot release), `go install`ed into the cache
#              bin dir when the pinned version is not there.
#   vm         the VM lab's kernel and initramfs: internal/lab/vm/setup.sh,
#              which downloads Debian's cloud kernel with `apt-get download`
#              into its own cache outside the tree (and returns at once when
#              that cache is current).
#
# Usage: internal/lab/deps.sh [apt] [terraform] [tofu] [goreleaser] [vm]
#        (no argument: apt terraform tofu vm; goreleaser only when named)
#
# Environment:
#   LVS_CACHE  cache directory (default: <repo>/.cache); built tools go to
#              $LVS_CACHE/bin, which the GNUmakefile puts first on PATH.
#
# When everything is present this is a handful of dpkg-query/command -v checks.
# It installs as root, or through `sudo -n` (never prompts), and fails with a
# message saying what to install when it can do neither.
set -euo pipefail

# The Terraform CLI built when none is installed: the last MPL-licensed
# release, which builds with the Go toolchain from the module proxy.
readonly TERRAFORM_MODULE=github.com/hashicorp/terraform
readonly TERRAFORM_VERSION=v1.5.7

# The OpenTofu CLI the acceptance tests also run under: the newest release
# the module proxy serves that builds with Go 1.26.
readonly TOFU_MODULE=github.com/opentofu/opentofu
readonly TOFU_VERSION=v1.12.6

# goreleaser, for the release check in CI.
readonly GORELEASER_MODULE=github.com/goreleaser/goreleaser/v2
readonly GORELEASER_VERSION=v2.15.1

# Debian packages, one per need (see the header).
readonly APT_PACKAGES=(
	keepalived
	haproxy
	ipvsadm
	iproute2
	openssh-server
	busybox-static
	qemu-system-x86
	kmod
	cpio
	lz4
	e2fsprogs
	sudo
	python3
	curl
	psmisc
	procps
	gnupg
)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${LVS_CACHE:-$root/.cache}
bin=$cache/bin

say() { printf 'deps: %s\n' "$*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}

# as_root runs a command as root: directly, or through passwordless sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 1
	fi
}

# missing_apt prints the packages of APT_PACKAGES that are not installed.
missing_apt() {
	local pkg status
	for pkg in "${APT_PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		[ "$status" = "install ok installed" ] || printf '%s\n' "$pkg"
	done
}

apt_updated=0

# apt_update refreshes the package lists, once per run.
apt_update() {
	[ "$apt_updated" -eq 1 ] && return 0
	as_root apt-get update -qq ||
		die "apt-get update failed (is a Debian mirror reachable?)"
	apt_updated=1
}

deps_apt() {
	command -v dpkg-query >/dev/null 2>&1 ||
		die "this is not a Debian/Ubuntu system (no dpkg-query): install ${APT_PACKAGES[*]} with your package manager"
	local missing
	mapfile -t missing < <(missing_apt)
	[ "${#missing[@]}" -eq 0 ] && return 0

	say "installing Debian packages: ${missing[*]}"
	if ! as_root true; then
		die "need root or passwordless sudo to run apt-get; install them yourself:
    sudo apt-get install --no-install-recommends ${missing[*]}"
	fi
	apt_update
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed"
}

deps_terraform() {
	# The GNUmakefile puts $bin first on PATH; check it here too so the script
	# gives the same answer when run on its own.
	if PATH=$bin:$PATH command -v terraform >/dev/null 2>&1; then
		return 0
	fi
	command -v go >/dev/null 2>&1 ||
		die "terraform is not installed and neither is Go (1.26, from https://go.dev/dl) to build it"
	say "terraform not found: building $TERRAFORM_MODULE@$TERRAFORM_VERSION into $bin (takes about 3 minutes)"
	mkdir -p "$bin"
	GOBIN=$bin go install "$TERRAFORM_MODULE@$TERRAFORM_VERSION" ||
		die "go install $TERRAFORM_MODULE@$TERRAFORM_VERSION failed"
	say "built $("$bin/terraform" version | sed -n 1p)"
}

# deps_tofu builds OpenTofu into $bin/tofu unless a tofu of the pinned
# version is already there (or another tofu is on PATH, used as it is).
deps_tofu() {
	local want=${TOFU_VERSION#v} have
	if [ -x "$bin/tofu" ]; then
		have=$(tofu_version)
		[ "$have" = "$want" ] && return 0
		say "$bin/tofu is OpenTofu ${have:-of unknown version}, want $want: rebuilding"
	elif command -v tofu >/dev/null 2>&1; then
		return 0
	fi
	command -v go >/dev/null 2>&1 ||
		die "tofu is not installed and neither is Go (1.26, from https://go.dev/dl) to build it"
	say "building $TOFU_MODULE@$TOFU_VERSION into $bin (takes several minutes of CPU, once)"
	local dir
	dir=$(go mod download -json "$TOFU_MODULE@$TOFU_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $TOFU_MODULE@$TOFU_VERSION failed"
	mkdir -p "$bin"
	# dev=no: the binary reports the release version, not "-dev".
	(cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
		-ldflags "-s -w -X $TOFU_MODULE/version.dev=no" -o "$bin/tofu.tmp" ./cmd/tofu) ||
		{
			rm -f "$bin/tofu.tmp"
			die "building $TOFU_MODULE@$TOFU_VERSION failed"
		}
	mv -f "$bin/tofu.tmp" "$bin/tofu"
	say "built OpenTofu $(tofu_version)"
}

# tofu_version prints the version $bin/tofu reports (it may print a warning
# about the CLI configuration first).
tofu_version() {
	"$bin/tofu" version 2>/dev/null | sed -n 's/^OpenTofu v\([^ ]*\).*/\1/p' | sed -n 1p
}

# deps_goreleaser installs goreleaser into $bin unless the pinned version
# is there.
deps_goreleaser() {
	if [ -x "$bin/goreleaser" ] &&
		"$bin/goreleaser" --version 2>/dev/null | grep -q "^GitVersion:[[:space:]]*$GORELEASER_VERSION\$"; then
		return 0
	fi
	command -v go >/dev/null 2>&1 || die "goreleaser is not installed and neither is Go to build it"
	say "installing $GORELEASER_MODULE@$GORELEASER_VERSION into $bin"
	mkdir -p "$bin"
	GOBIN=$bin go install "$GORELEASER_MODULE@$GORELEASER_VERSION" ||
		die "go install $GORELEASER_MODULE@$GORELEASER_VERSION failed"
}

deps_vm() {
	local setup=$root/internal/lab/vm/setup.sh
	[ -x "$setup" ] || die "$setup is missing"
	as_root true || die "the VM lab's setup needs root or passwordless sudo: run $setup as root"
	# setup.sh finds the kernel to download in the package lists; a machine
	# that never ran apt-get update has none.
	compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt_update
	as_root "$setup" || die "$setup failed"
}

main() {
	local steps=("$@")
	[ "${#steps[@]}" -gt 0 ] || steps=(apt terraform tofu vm)
	local step
	for step in "${steps[@]}"; do
		case $step in
		apt) deps_apt ;;
		terraform) deps_terraform ;;
		tofu) deps_tofu ;;
		goreleaser) deps_goreleaser ;;
		vm) deps_vm ;;
		*) die "unknown step '$step' (want: apt terraform tofu goreleaser vm)" ;;
		esac
	done
}

main "$@"
