#!/bin/sh
# Managed by terraform-provider-lvs; do not edit: changes are overwritten.
# The real-server side of an LVS cluster. Idempotent: running it again
# changes nothing.
set -eu

# The tunnel device decapsulates what the directors send. Its module may be
# built in, or modprobe missing: the device itself is what must come up.
if command -v modprobe >/dev/null 2>&1; then
	modprobe ipip || echo "modprobe ipip failed; trying the device anyway" >&2
fi
ip link set dev tunl0 up

# Kernel settings, now and at every boot. They come before the addresses:
# no ARP reply may ever show a VIP.
sysctl -w net.ipv4.conf.all.arp_ignore=1
sysctl -w net.ipv4.conf.all.arp_announce=2
sysctl -w net.ipv4.conf.lo.arp_ignore=1
sysctl -w net.ipv4.conf.lo.arp_announce=2
sysctl -w net.ipv4.conf.all.rp_filter=0
sysctl -w net.ipv4.conf.tunl0.rp_filter=0
mkdir -p /etc/sysctl.d
cat >/etc/sysctl.d/90-lvs-realserver.conf.tmp <<'LVS_SYSCTL_EOF'
# Managed by terraform-provider-lvs; do not edit: changes are overwritten.

# TUN: answer ARP only for addresses on the receiving interface, never for the VIP
net.ipv4.conf.all.arp_ignore = 1

# TUN: never use the VIP as ARP source address
net.ipv4.conf.all.arp_announce = 2

# TUN: the VIP on this device stays invisible to ARP
net.ipv4.conf.lo.arp_ignore = 1

# TUN: the VIP on this device stays invisible to ARP
net.ipv4.conf.lo.arp_announce = 2

# TUN: decapsulated packets arrive on the tunnel with the client's source; reverse-path filtering would drop them
net.ipv4.conf.all.rp_filter = 0

# TUN: decapsulated packets arrive on the tunnel with the client's source; reverse-path filtering would drop them
net.ipv4.conf.tunl0.rp_filter = 0
LVS_SYSCTL_EOF
mv -f /etc/sysctl.d/90-lvs-realserver.conf.tmp /etc/sysctl.d/90-lvs-realserver.conf

# The virtual addresses this host accepts traffic for.
ip addr replace 192.168.0.10/32 dev tunl0
ip addr replace 192.168.0.11/32 dev tunl0
