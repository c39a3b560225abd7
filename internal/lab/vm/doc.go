// Package vm boots throw-away virtual machines that run a kernel with IPVS,
// for the tests that need IPVS in the kernel (the machine the project is
// built on has none).
//
// A VM is qemu (TCG) running Debian's cloud kernel with a busybox initramfs
// that holds the ip_vs modules, OpenSSH's sshd, keepalived, haproxy, ipvsadm,
// iproute2 and bash. setup.sh, beside this file, downloads the kernel and
// builds the initramfs into a cache directory outside the git tree
// (/var/tmp/lvs-vm-cache, or $LVS_VM_CACHE); Boot reads it from there.
//
// Each VM has:
//   - SSH on a loopback port forwarded by qemu's user network (eth0), with a
//     host key and a client key generated for it, and a known_hosts file;
//   - optionally a second NIC (eth1) on a tap device enslaved to a host
//     bridge, with a given address, so that network namespaces on that
//     bridge can be its clients and real servers;
//   - a persistent ext4 disk: /etc is an overlay whose changes live on it and
//     /var/lib/lvs-agent is on it, so files survive Reboot while the kernel's
//     state (IPVS tables, addresses, sysctls) does not. At boot the VM
//     applies /etc/sysctl.d/*.conf and runs /etc/rc.local when executable.
//
// Tests use Start, which skips loudly (fails under CI) when the VM lab
// cannot run here.
package vm
