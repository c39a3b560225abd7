//go:build unix

package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// HostProcs is the real Procs: kill(2) and /proc below Root.
type HostProcs struct {
	Root string
}

// Alive implements Procs. A zombie (a daemon that exited but was not yet
// reaped) counts as gone.
func (p HostProcs) Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(filepath.Join(p.Root, "proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// Signal implements Procs.
func (HostProcs) Signal(pid int, sig syscall.Signal) error {
	return syscall.Kill(pid, sig)
}

// Cmdline implements Procs.
func (p HostProcs) Cmdline(pid int) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(p.Root, "proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), nil
}
