#!/usr/bin/env bash
# setup.sh prepares the VM lab's kernel and initramfs in a cache directory
# outside the git tree:
#
#   1. looks up the current Debian cloud kernel (linux-image-<ver>-cloud-amd64,
#      the package linux-image-cloud-amd64 depends on) with apt-cache,
#   2. downloads it with `apt-get download` and unpacks it (never installs it),
#   3. extracts the uncompressed ELF vmlinux from the bzImage (for -M microvm,
#      which boots it through the PVH entry point),
#   4. builds a busybox initramfs holding the IPVS modules and their
#      dependencies, ipip, overlayfs, virtio drivers, OpenSSH's sshd and
#      sftp-server, keepalived, haproxy, ipvsadm, iproute2 and bash, all taken
#      from the host (the Debian packages internal/lab/deps.sh installs),
#   5. writes $cache/lab.env, which the Go package internal/lab/vm reads.
#
# The initramfs holds no key: every VM gets its own SSH host key and client
# key on its persistent disk (see vm.go).
#
# It is idempotent: when $cache/lab.env names the same kernel version and the
# same build key (a hash of this script, rcS and the versions of the host
# packages copied in), it only prints the path and exits. When apt-cache
# cannot name a kernel, a complete cache is used as it is (offline), and
# without one apt-get update runs first (a fresh machine).
#
# Usage: internal/lab/vm/setup.sh [-f]     (-f rebuilds the initramfs)
#
# Environment:
#   LVS_VM_CACHE  cache directory (default /var/tmp/lvs-vm-cache)
#
# Needs: apt-get, apt-cache, dpkg, kmod (depmod, modprobe), cpio, lz4, and the
# host binaries listed in HOST_PACKAGES. Runs as root (apt-get download and
# root-owned files in the initramfs).
set -euo pipefail

readonly KERNEL_META=linux-image-cloud-amd64

# Every IPVS scheduler the kernel builds as a module (ip_vs_twos only exists
# from Linux 6.3 on: it is taken when the kernel has it), the IPVS helpers,
# the netfilter pieces IPVS and NAT use, ipip for IPVS-TUN, overlay for the
# persistent /etc, and the virtio drivers of both machine types.
readonly MODULES_WANTED=(
	ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr
	ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_mh ip_vs_fo ip_vs_ovf
	ip_vs_ftp xt_ipvs
	nf_conntrack nf_nat nf_tables nft_ct nft_nat nft_chain_nat
	ip_tables iptable_filter iptable_nat iptable_mangle
	xt_MASQUERADE xt_mark xt_conntrack
	ipip dummy bridge veth macvlan 8021q tun overlay
	virtio_pci virtio_mmio virtio_net virtio_blk virtio_rng
)
readonly MODULES_OPTIONAL=(ip_vs_twos)

# Host packages whose files go into the initramfs; their versions are part of
# the build key so an upgrade rebuilds it.
readonly HOST_PACKAGES=(busybox-static openssh-server openssh-sftp-server keepalived haproxy ipvsadm iproute2 bash)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${LVS_VM_CACHE:-/var/tmp/lvs-vm-cache}
force=0
[ "${1:-}" = -f ] && force=1

say() { printf 'vm-setup: %s\n' "$*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}

# env_value prints KEY's value from $cache/lab.env, or nothing.
env_value() {
	[ -f "$cache/lab.env" ] && sed -n "s/^$1=//p" "$cache/lab.env"
}

# kernel_version prints the version (e.g. 6.1.0-56-cloud-amd64) of the
# kernel package the cloud meta-package depends on.
kernel_version() {
	apt-cache depends "$KERNEL_META" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { sub(/^linux-image-/, "", $2); print $2; exit }'
}

# build_key prints a hash of what the initramfs is made of.
build_key() {
	{
		cat "$here/setup.sh" "$here/rcS"
		dpkg-query -W -f='${Package} ${Version}\n' "${HOST_PACKAGES[@]}"
	} | sha256sum | cut -c1-16
}

# fetch_kernel downloads and unpacks linux-image-$kv into $cache/kernel/$kv.
fetch_kernel() {
	local kv=$1 dir=$cache/kernel/$1
	[ -f "$dir/.unpacked" ] && return 0
	say "downloading linux-image-$kv"
	mkdir -p "$cache/debs"
	rm -f "$cache/debs/linux-image-${kv}_"*.deb
	# apt's sandbox user cannot write to a root-only cache: download as root.
	(cd "$cache/debs" && apt-get download -o APT::Sandbox::User=root "linux-image-$kv") ||
		die "apt-get download linux-image-$kv failed (run apt-get update?)"
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg -x "$cache/debs/linux-image-${kv}_"*.deb "$dir"
	depmod -b "$dir" "$kv"
	touch "$dir/.unpacked"
}

# extract_vmlinux writes the uncompressed ELF kernel inside the bzImage $1
# to $2. Debian compresses it with LZ4 (legacy frame, magic 02 21 4c 18); lz4
# stops with an error at the bzImage's trailing bytes, after the whole kernel.
extract_vmlinux() {
	local bz=$1 out=$2 off
	off=$(LC_ALL=C grep -aboP '\x02\x21\x4c\x18' "$bz" | head -n 1 | cut -d: -f1)
	[ -n "$off" ] || die "no LZ4 payload in $bz"
	tail -c +$((off + 1)) "$bz" | lz4 -dc >"$out.tmp" 2>/dev/null || true
	[ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
		die "extracting vmlinux from $bz did not give an ELF file"
	mv "$out.tmp" "$out"
}

# copy_bin copies the executable $1 (to path $2 in the root, default the
# same) and the shared libraries it needs into $root.
copy_bin() {
	local src=$1 dst=${2:-$1} lib
	[ -x "$src" ] || die "$src is missing (install the Debian packages of internal/lab/deps.sh)"
	mkdir -p "$root$(dirname "$dst")"
	# rm first: never write through a busybox applet symlink.
	rm -f "$root$dst"
	cp -L "$src" "$root$dst"
	for lib in $(ldd "$src" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# copy_modules copies the wanted modules and everything they depend on.
copy_modules() {
	local kv=$1 kdir=$cache/kernel/$1 m f rel
	local -a wanted=("${MODULES_WANTED[@]}")
	for m in "${MODULES_OPTIONAL[@]}"; do
		if modprobe -d "$kdir" -S "$kv" --show-depends "$m" >/dev/null 2>&1; then
			wanted+=("$m")
		else
			say "kernel $kv has no module $m: left out"
		fi
	done
	for m in "${wanted[@]}"; do
		modprobe -d "$kdir" -S "$kv" --show-depends "$m" ||
			die "kernel $kv has no module $m"
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r f; do
		rel=${f#"$kdir"/}
		mkdir -p "$root/$(dirname "$rel")"
		cp "$f" "$root/$rel"
	done
	cp "$kdir/lib/modules/$kv"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kv/"
	depmod -b "$root" "$kv"
}

# write_config writes the static files of the root: users, sshd, init.
write_config() {
	cat >"$root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/bash
		sshd:x:100:65534:sshd:/run/sshd:/bin/false
		haproxy:x:101:101:haproxy:/var/lib/haproxy:/bin/false
		keepalived_script:x:102:102::/nonexistent:/bin/false
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$root/etc/group" <<-'EOF'
		root:x:0:
		haproxy:x:101:
		keepalived_script:x:102:
		nogroup:x:65534:
	EOF
	# root has no password: only the key on the VM's disk logs in.
	echo 'root:*:19000:0:99999:7:::' >"$root/etc/shadow"
	chmod 600 "$root/etc/shadow"
	printf '/bin/sh\n/bin/bash\n' >"$root/etc/shells"
	printf 'hosts: files\npasswd: files\ngroup: files\nshadow: files\n' >"$root/etc/nsswitch.conf"
	printf '127.0.0.1 localhost\n' >"$root/etc/hosts"

	# The host key and the authorized key come from the VM's persistent
	# disk, mounted over /etc by rcS before sshd starts.
	cat >"$root/etc/ssh/sshd_config" <<-'EOF'
		HostKey /etc/ssh/ssh_host_ed25519_key
		AuthorizedKeysFile /etc/ssh/authorized_keys/%u
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		UseDNS no
		PrintMotd no
		Subsystem sftp /usr/lib/openssh/sftp-server
	EOF

	# root logs in with bash: Debian's busybox-static prefers its applets, so
	# busybox sh would run its own `ip` even where /sbin/ip is iproute2's.
	cat >"$root/etc/inittab" <<-'EOF'
		::sysinit:/etc/rcS
		::respawn:/usr/sbin/sshd -D -e
		ttyS0::respawn:-/bin/bash
		::ctrlaltdel:/sbin/reboot
		::shutdown:/etc/rcS stop
	EOF
	install -m 755 "$here/rcS" "$root/etc/rcS"
	ln -s /bin/busybox "$root/init"
}

# build_root fills $root and packs it into $1.
build_root() {
	local kv=$1 out=$2 a
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,proc,sys,dev,run,tmp,root,persist} \
		"$root"/{etc/ssh,etc/keepalived,etc/haproxy,etc/sysctl.d,var/lib/lvs-agent,var/lib/haproxy,var/log} \
		"$root/lib/modules/$kv"
	ln -s lib "$root/lib64"
	ln -s /run "$root/var/run"
	chmod 700 "$root/root"

	install -m 755 /bin/busybox "$root/bin/busybox"
	for a in $("$root/bin/busybox" --list-full); do
		[ -e "$root/$a" ] || [ -L "$root/$a" ] || ln -s /bin/busybox "$root/$a"
	done

	copy_bin /bin/bash
	copy_bin /usr/sbin/sshd
	copy_bin /usr/lib/openssh/sftp-server
	copy_bin /usr/sbin/ipvsadm
	cp /usr/sbin/ipvsadm-save /usr/sbin/ipvsadm-restore "$root/usr/sbin/"
	copy_bin /usr/sbin/keepalived
	copy_bin /usr/sbin/haproxy
	copy_bin /usr/bin/ip /sbin/ip
	copy_bin /usr/bin/ip /bin/ip
	copy_bin /usr/bin/ss /bin/ss

	copy_modules "$kv"
	write_config

	(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --owner 0:0 --quiet) >"$out.tmp"
	mv "$out.tmp" "$out"
}

# check_cache_dir refuses a cache inside the git tree: kernels, modules and
# images are never committed.
check_cache_dir() {
	local tree dir
	tree=$(cd "$here/../../.." && pwd -P)
	dir=$(realpath -m "$cache")
	case $dir/ in
	"$tree"/*) die "LVS_VM_CACHE=$cache is inside the git tree $tree: choose a directory outside it" ;;
	esac
}

main() {
	check_cache_dir
	mkdir -p "$cache"
	local kv key
	kv=$(kernel_version)
	if [ -z "$kv" ] && [ -z "$(env_value KERNEL_VERSION)" ]; then
		say "apt-cache names no $KERNEL_META: running apt-get update"
		apt-get update -qq || die "apt-get update failed (is a Debian mirror reachable?)"
		kv=$(kernel_version)
	fi
	if [ -z "$kv" ]; then
		kv=$(env_value KERNEL_VERSION)
		[ -n "$kv" ] || die "apt-cache names no $KERNEL_META: run apt-get update"
		say "apt-cache names no $KERNEL_META: keeping the cached kernel $kv"
	fi
	key=$(build_key)
	if [ "$force" = 0 ] && [ "$(env_value KERNEL_VERSION)" = "$kv" ] && [ "$(env_value BUILD_KEY)" = "$key" ] &&
		[ -f "$(env_value INITRD)" ] && [ -f "$(env_value KERNEL_ELF)" ]; then
		say "up to date: $cache/lab.env (kernel $kv)"
		return 0
	fi

	fetch_kernel "$kv"
	local build=$cache/build/$kv
	mkdir -p "$build"
	root=$build/root
	extract_vmlinux "$cache/kernel/$kv/boot/vmlinuz-$kv" "$build/vmlinux"
	say "building the initramfs for $kv"
	build_root "$kv" "$build/initramfs.cpio"
	rm -rf "$root"

	cat >"$cache/lab.env.tmp" <<-EOF
		KERNEL_VERSION=$kv
		BUILD_KEY=$key
		KERNEL_BZIMAGE=$cache/kernel/$kv/boot/vmlinuz-$kv
		KERNEL_ELF=$build/vmlinux
		INITRD=$build/initramfs.cpio
	EOF
	mv "$cache/lab.env.tmp" "$cache/lab.env"
	# Older kernels are no longer named by lab.env.
	find "$cache/kernel" "$cache/build" -mindepth 1 -maxdepth 1 ! -name "$kv" -exec rm -rf {} +
	find "$cache/debs" -name 'linux-image-*.deb' ! -name "linux-image-${kv}_*" -delete
	say "ready: $cache/lab.env (kernel $kv, initramfs $(du -h "$build/initramfs.cpio" | cut -f1))"
}

main "$@"
