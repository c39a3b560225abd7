//go:build linux

package netns

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/crypto/ssh"
)

// Attach returns the lab named by cfg (Name and Dir) that an earlier Up left
// running, from its scratch directory, without taking its lock: for status,
// Exec and Dial from another process. Its Down waits for the lock.
func Attach(cfg Config) (*Lab, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validateName(); err != nil {
		return nil, err
	}
	y := layout{cfg}
	st, err := readState(y)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", cfg.Name, err)
	}
	if len(st.Hosts) == 0 {
		return nil, fmt.Errorf("lab %s: not up (no hosts in %s)", cfg.Name, y.statePath())
	}
	if cfg.Subnet, err = netip.ParsePrefix(st.Subnet); err != nil {
		return nil, fmt.Errorf("lab %s: state subnet: %w", cfg.Name, err)
	}
	cfg.Hosts, cfg.PrivateDirs = st.Hosts, st.PrivateDirs
	l := newLab(layout{cfg}, nil)
	if l.ClientKeyPEM, err = os.ReadFile(l.ClientKeyPath); err != nil {
		return nil, fmt.Errorf("lab %s: read client key: %w", cfg.Name, err)
	}
	for _, h := range l.Hosts {
		h.ClientKeyPEM = l.ClientKeyPEM
		pub, err := os.ReadFile(filepath.Join(h.Dir, "ssh_host_ed25519_key.pub"))
		if err != nil {
			return nil, fmt.Errorf("host %s: read host key: %w", h.Name, err)
		}
		if h.HostKey, _, _, _, err = ssh.ParseAuthorizedKey(pub); err != nil {
			return nil, fmt.Errorf("host %s: parse host key: %w", h.Name, err)
		}
	}
	return l, nil
}

// HostStatus is what Status observed of one host.
type HostStatus struct {
	Host *Host
	// Namespace reports whether the network namespace exists.
	Namespace bool
	// SSH reports whether sshd answered with its banner.
	SSH bool
	// Processes are the processes running in the host's network namespace.
	Processes []Process
}

// Status observes every host, in Order.
func (l *Lab) Status(ctx context.Context) ([]HostStatus, error) {
	out := make([]HostStatus, len(l.Order))
	var present []string
	for i, name := range l.Order {
		h := l.Hosts[name]
		out[i].Host = h
		if _, err := os.Stat(netnsPath(h.Namespace)); err == nil {
			out[i].Namespace = true
			present = append(present, h.Namespace)
		}
	}
	procs, err := namespaceProcesses(present)
	if err != nil {
		return nil, fmt.Errorf("lab %s: status: %w", l.Name, err)
	}
	err = l.eachHost(func(h *Host) error {
		i := slices.Index(l.Order, h.Name)
		out[i].Processes = procs[h.Namespace]
		out[i].SSH = out[i].Namespace && sshBanner(ctx, h.SSHAddr()) == nil
		return nil
	})
	return out, err
}
