#!/bin/sh
# Managed by terraform-provider-lvs; do not edit: changes are overwritten.
# The real-server side of an LVS cluster. Idempotent: running it again
# changes nothing.
set -eu

# Kernel settings, now and at every boot. They come before the addresses:
# no ARP reply may ever show a VIP.
sysctl -w net.ipv4.conf.all.arp_ignore=1
sysctl -w net.ipv4.conf.all.arp_announce=2
sysctl -w net.ipv4.conf.lo.arp_ignore=1
sysctl -w net.ipv4.conf.lo.arp_announce=2
mkdir -p /etc/sysctl.d
cat >/etc/sysctl.d/90-lvs-realserver.conf.tmp <<'LVS_SYSCTL_EOF'
# Managed by terraform-provider-lvs; do not edit: changes are overwritten.

# DR: answer ARP only for addresses on the receiving interface, never for the VIP
net.ipv4.conf.all.arp_ignore = 1

# DR: never use the VIP as ARP source address
net.ipv4.conf.all.arp_announce = 2

# DR: the VIP on this device stays invisible to ARP
net.ipv4.conf.lo.arp_ignore = 1

# DR: the VIP on this device stays invisible to ARP
net.ipv4.conf.lo.arp_announce = 2
LVS_SYSCTL_EOF
mv -f /etc/sysctl.d/90-lvs-realserver.conf.tmp /etc/sysctl.d/90-lvs-realserver.conf

# The virtual addresses this host accepts traffic for.
ip addr replace 192.168.0.10/32 dev lo
ip addr replace 2001:db8::10/128 dev lo
