#!/bin/sh
# hand-built real server (rs1, rs2): accept the VIP, never announce it.
set -e
ip addr add 192.0.2.100/32 dev lo
sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
	net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2
