//go:build linux

package netns

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// netnsDir is where iproute2 keeps named network namespaces.
const netnsDir = "/run/netns"

func netnsPath(ns string) string { return filepath.Join(netnsDir, ns) }

// teardown removes everything of the lab y names that it finds, in the order
// that lets each step succeed: processes, namespace mounts, network
// namespaces (taking their veths along), root-namespace links, mount points
// created on the machine, and the scratch directory.
//
// What belongs to the lab is what its state.json lists: without one (no lab,
// or one whose scratch directory was deleted by hand) only the scratch
// directory is looked at. Other namespaces and links are never touched, even
// when their names start like the lab's.
func teardown(ctx context.Context, y layout) error {
	st, err := readState(y)
	if err != nil {
		return err
	}
	namespaces := existingNamespaces(y, st.Hosts)
	if err := killNamespaces(ctx, namespaces); err != nil {
		return err
	}
	if err := unmountNamespaces(y); err != nil {
		return err
	}
	var errs []error
	for _, ns := range namespaces {
		if out, err := exec.CommandContext(ctx, "ip", "netns", "delete", ns).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("delete namespace %s: %w: %s", ns, err, strings.TrimSpace(string(out))))
		}
	}
	if err := deleteLinks(ctx, y, len(st.Hosts)); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return removeScratch(y)
}

// readState reads the lab's state.json; a missing one is an empty state.
func readState(y layout) (state, error) {
	var st state
	b, err := os.ReadFile(y.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("decode %s: %w", y.statePath(), err)
	}
	return st, nil
}

// existingNamespaces returns the network namespaces of the hosts that exist.
func existingNamespaces(y layout, hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if _, err := os.Stat(netnsPath(y.namespace(h))); err == nil {
			out = append(out, y.namespace(h))
		}
	}
	return out
}

// Process is a process running in a lab host's network namespace.
type Process struct {
	PID     int
	Command string
}

// namespaceProcesses maps each of the named network namespaces to the
// processes running in it, found through /proc/*/ns/net.
func namespaceProcesses(namespaces []string) (map[string][]Process, error) {
	byInode := map[uint64]string{}
	for _, ns := range namespaces {
		var st unix.Stat_t
		if err := unix.Stat(netnsPath(ns), &st); err != nil {
			return nil, fmt.Errorf("namespace %s: %w", ns, err)
		}
		byInode[st.Ino] = ns
	}
	out := map[string][]Process{}
	if len(byInode) == 0 {
		return out, nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// Processes come and go while we look: an unreadable one is skipped
		// (exited, or a zombie, whose namespaces are already released).
		link, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "net"))
		if err != nil {
			continue
		}
		ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "net:["), "]"), 10, 64)
		if err != nil {
			continue
		}
		if ns, ok := byInode[ino]; ok {
			comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			out[ns] = append(out[ns], Process{PID: pid, Command: strings.TrimSpace(string(comm))})
		}
	}
	return out, nil
}

// killNamespaces ends every process in the namespaces: SIGTERM, then SIGKILL
// for those still there after termGrace.
func killNamespaces(ctx context.Context, namespaces []string) error {
	for _, step := range []struct {
		sig   syscall.Signal
		grace time.Duration
	}{{syscall.SIGTERM, termGrace}, {syscall.SIGKILL, killGrace}} {
		left, err := signalUntilGone(ctx, namespaces, step.sig, step.grace)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if step.sig == syscall.SIGKILL {
			return fmt.Errorf("processes survive SIGKILL: %v", left)
		}
	}
	return nil
}

// signalUntilGone sends sig to every process in the namespaces (again to
// newcomers, such as children forked meanwhile) until none is left or grace
// is over; it returns those left.
func signalUntilGone(ctx context.Context, namespaces []string, sig syscall.Signal, grace time.Duration) (map[string][]Process, error) {
	deadline := time.Now().Add(grace)
	signalled := map[int]bool{}
	for {
		procs, err := namespaceProcesses(namespaces)
		if err != nil {
			return nil, err
		}
		if len(procs) == 0 {
			return nil, nil
		}
		for _, ps := range procs {
			for _, p := range ps {
				if !signalled[p.PID] {
					_ = syscall.Kill(p.PID, sig) // it may have exited already
					signalled[p.PID] = true
				}
			}
		}
		if time.Now().After(deadline) {
			return procs, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %v to exit: %w", procs, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// unmountNamespaces unmounts the persisted mount and UTS namespaces and the
// private bind mount of the directory holding them.
func unmountNamespaces(y layout) error {
	entries, err := os.ReadDir(y.nsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", y.nsDir(), err)
	}
	paths := make([]string, 0, len(entries)+1)
	for _, e := range entries {
		paths = append(paths, filepath.Join(y.nsDir(), e.Name()))
	}
	paths = append(paths, y.nsDir())
	for _, p := range paths {
		if err := unmountAll(p); err != nil {
			return err
		}
	}
	return nil
}

// unmountAll unmounts everything stacked on path; a path that is not a mount
// point is fine.
func unmountAll(path string) error {
	for {
		err := unix.Unmount(path, unix.MNT_DETACH)
		switch {
		case err == nil:
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil
		default:
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
}

// deleteLinks deletes the lab's root-namespace links, the bridge and the
// veths of its n hosts, until none is left: a veth goes with its namespace,
// but only once the kernel has released that namespace, asynchronously.
func deleteLinks(ctx context.Context, y layout, n int) error {
	names := []string{y.bridge()}
	for i := range n {
		names = append(names, y.veth(i))
	}
	deadline := time.Now().Add(killGrace)
	for {
		links := existingLinks(names)
		if len(links) == 0 {
			return nil
		}
		for _, link := range links {
			// It may vanish meanwhile; whatever stays is reported below.
			_ = exec.CommandContext(ctx, "ip", "link", "delete", link).Run()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("links survive deletion: %v", links)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for links %v to go: %w", links, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// existingLinks returns those of names that are links in the root namespace.
func existingLinks(names []string) []string {
	var out []string
	for _, name := range names {
		if _, err := net.InterfaceByName(name); err == nil {
			out = append(out, name)
		}
	}
	return out
}

// removeScratch removes the lab's scratch directory, after checking that
// nothing is mounted under it (RemoveAll would descend into a mount).
//
// Mount points Up created on the machine stay: another lab may be using one
// (removing a directory unmounts it in every mount namespace).
func removeScratch(y layout) error {
	mounts, err := mountsUnder(y.labDir())
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("still mounted under %s, not removing it: %v", y.labDir(), mounts)
	}
	if err := os.RemoveAll(y.labDir()); err != nil {
		return fmt.Errorf("remove %s: %w", y.labDir(), err)
	}
	return nil
}

// mountsUnder lists this process's mount points at or below dir.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return slices.Compact(out), sc.Err()
}

// unescapeMount undoes the octal escapes of mountinfo (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
