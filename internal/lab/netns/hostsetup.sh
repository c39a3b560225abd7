#!/bin/sh
# hostsetup.sh HOST ROOT NSDIR DIR...
#
# Runs once per lab host, inside the host's network namespace and its new
# (persisted) mount and UTS namespaces, before sshd starts there:
#   - the hostname becomes HOST;
#   - the copies of the namespace files this mount namespace inherited (the
#     lab's NSDIR, iproute2's /run/netns) are unmounted, so that it does not
#     keep other hosts' namespaces alive after they are deleted;
#   - /run becomes a private tmpfs (pid files, sockets: /run/sshd is sshd's
#     privilege-separation directory, /run/haproxy is where Debian's haproxy
#     config puts its stats socket);
#   - /tmp becomes a private tmpfs too (keepalived dumps its state to the
#     fixed path /tmp/keepalived.json: two directors must not share it);
#   - root's shell start-up files read as empty (/dev/null bound over them): a
#     lab host is a fresh machine, so the machine's own do not run in every SSH session
#     (sshd runs `bash -c`, which reads ~/.bashrc: one that runs `pyenv init`
#     left a session hanging in pyenv-rehash on a stale lock, and a killed
#     session's agent looked alive for as long);
#   - /sys is remounted so /sys/class/net lists the host's own interfaces;
#   - /etc becomes an overlay whose changes land in ROOT/.etc-upper, so that
#     whatever an agent writes anywhere under /etc (rc.local, systemd units,
#     sysctl.d) stays on this host and never reaches the machine's /etc;
#   - each DIR is replaced by a bind mount of ROOT/DIR, the host's private copy.
# The mounts are private to the namespace: nothing here is seen by the machine
# or by other hosts.
set -eu
host=$1
root=$2
nsdir=$3
shift 3
hostname "$host"
umount --recursive --lazy "$nsdir"
if mountpoint -q /run/netns; then umount --recursive --lazy /run/netns; fi
mount -t tmpfs -o mode=0755,nosuid,nodev lab-run /run
mkdir -p /run/sshd /run/haproxy
mount -t tmpfs -o mode=1777,nosuid,nodev lab-tmp /tmp
for rc in /root/.bashrc /root/.profile /root/.bash_profile; do
	if [ -f "$rc" ]; then mount --bind /dev/null "$rc"; fi
done
mount -t sysfs lab-sys /sys
mkdir -p "$root/.etc-upper" "$root/.etc-work"
mount -t overlay lab-etc -o "lowerdir=/etc,upperdir=$root/.etc-upper,workdir=$root/.etc-work" /etc
for dir in "$@"; do
	mount --bind "$root$dir" "$dir"
done
