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

// Children lists the processes whose parent is pid (from /proc below
// Root); nil when /proc cannot be read.
func (p HostProcs) Children(pid int) []int {
	dirs, err := os.ReadDir(filepath.Join(p.Root, "proc"))
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range dirs {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(p.Root, "proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: the fields after the parenthesised name.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) >= 2 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}
