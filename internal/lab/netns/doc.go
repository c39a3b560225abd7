// Package netns builds a lab of "hosts" on one Linux machine: one network
// namespace per host, joined by a bridge in the root namespace, each host
// running its own OpenSSH sshd so that tests and the provider reach it over
// real SSH, exactly as they would reach a separate machine.
//
// Each host has:
//   - an address on the lab subnet (the bridge holds the first address; hosts
//     get .11, .12, ... in the order given; .100 and above are never assigned
//     and are free for VIPs), a default route through the bridge, and eth0;
//   - its own sshd with its own ed25519 host key, listening on Addr:22, which
//     accepts the lab's client key for root; a known_hosts file lists all hosts;
//   - its own UTS namespace (hostname = host name) and its own mount namespace
//     in which /run and /tmp are private tmpfs (so a file the machine or a
//     test puts in /tmp, such as t.TempDir, is not seen there: use TempDir
//     for files the hosts must see), /sys shows the host's own interfaces,
//     and each of Config.PrivateDirs (by default /etc/keepalived,
//     /etc/haproxy, /etc/sysctl.d, /var/lib/lvs-agent) is a bind mount of a
//     per-host scratch directory, seeded with a copy of the machine's
//     directory. A file written there on one host never appears on another
//     host nor on the machine. A private directory missing on the machine
//     (such as /var/lib/lvs-agent) is created there, empty, as the mount
//     point, and left there by Down: another lab may be mounted on it.
//
// The mount and UTS namespaces are persisted as bind mounts of nsfs files in
// the lab's scratch directory (like `ip netns` does for network namespaces),
// so they outlive any one process: sshd, and every command run through
// Lab.Exec or Lab.Command, enter the same three namespaces. Keepalived and
// haproxy started on a host (over SSH or through Lab.Command) therefore see
// that host's private /etc and /run.
//
// Scratch state lives under Config.Dir (default $LVS_LAB_DIR, else
// /var/tmp/lvs-lab), one directory per lab name, never in the repository.
// Up on a lab name that already exists tears the old one down first; Down
// kills every process in the lab's network namespaces (sshd, and whatever was
// started there later), unmounts, deletes the namespaces, the veths and the
// bridge, and removes the scratch directory. A lock file per lab name
// (held from Up to Down) keeps two processes from building the same lab at
// once: the second waits.
//
// Everything here needs root, iproute2, util-linux (unshare, nsenter) and
// OpenSSH's sshd. Tests use Start, which skips loudly without them (and fails
// when $CI is set).
package netns
