package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// daemon is a config file and the daemon that runs it (keepalived,
// haproxy), with what an apply is about to do to them.
type daemon struct {
	name     string // keepalived, haproxy: also the systemd unit
	confPath string // on the host, such as /etc/keepalived/keepalived.conf
	pidFile  string // on the host
	mode     os.FileMode
	// startArgs are the arguments that start the daemon (it forks into the
	// background) on a config of that content.
	startArgs func(conf []byte) []string
	reloadSig syscall.Signal
	stopSig   syscall.Signal
	// beforeStart prepares what the daemon needs to start (a socket
	// directory); nil when nothing.
	beforeStart func() error
	// testStep and reloadStep name the steps in errors.
	testStep, reloadStep string
	// adopt lets the apply replace a config lvs-agent did not write (the
	// user imported it).
	adopt bool
	// owner names the stored object the config is rendered from
	// ("director object" for keepalived.conf) when the host stored it before this apply: the
	// config is ours by the store, so a file replaced by hand is repaired,
	// after it is kept aside (keepAside). Empty: a foreign file is refused.
	owner     string
	keepAside bool
	// pkg names the Debian package whose untouched default the installed
	// config is (packageDefault): replaced, kept aside, not refused.
	pkg string

	// warnings are what the apply tells the user about d: what its tool
	// warned about and it accepted, a hand-written file it kept aside.
	warnings []string
	// readyFor is what shows that d runs the config the apply installs,
	// after a reload or, with fresh, a start (nil: nothing shows it; see
	// awaitDaemon).
	readyFor func(fresh bool) readiness
	// newWorkerOnReload: a reload is done when the master (the pid file's
	// process) has forked a worker it did not have before the signal
	// (haproxy -W: the new worker runs the new config and holds its
	// listeners). Until then a second reload signal would be lost.
	newWorkerOnReload bool

	action daemonAction
	want   []byte   // the rendered config (nil: none)
	old    snapshot // the installed config before the apply
	tmp    string   // the checked temporary file, when installing
}

type daemonAction int

const (
	actNone    daemonAction = iota // not ours to run, nothing stored
	actEnsure                      // config unchanged: make sure it runs
	actInstall                     // install the new config and reload
	actRemove                      // the last object is gone: stop, remove
)

func (d *daemon) object() string { return d.name + " " + d.confPath }

// prepare decides what the apply does to d and checks a new config with
// test (keepalived -t, haproxy -c), which gets the temporary file's path.
// A config that fails its test is never installed.
func (a *Agent) prepare(ctx context.Context, d *daemon, want []byte, test func(ctx context.Context, path string) (string, error)) *wire.Error {
	path := a.path(d.confPath)
	old, err := takeSnapshot(path, d.mode)
	if err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: d.testStep, Object: d.object(), Message: err.Error()}
	}
	d.old, d.want = old, want
	switch {
	case want == nil && old.exists && isOurs(old.data):
		d.action = actRemove
		return nil
	case want == nil:
		d.action = actNone
		return nil
	case old.exists && !isOurs(old.data) && !d.adopt && d.owner == "" && !d.pristine(a, old.data):
		return &wire.Error{Code: wire.ExitForeign, Step: d.testStep, Object: d.object(),
			Message: fmt.Sprintf("%s exists and was not written by lvs-agent (its first line is not the managed marker); "+
				"lvs-agent never overwrites a config it did not write: import it first (terraform import, which runs the agent's import verb), "+
				"or move the file away to let lvs-agent write a new one", d.confPath)}
	case old.exists && string(old.data) == string(want):
		d.action = actEnsure
		return nil
	}
	// A file of ours by the store that someone replaced by hand: repaired,
	// but what they wrote is kept (commitDaemon).
	d.keepAside = old.exists && !isOurs(old.data) && !d.adopt
	tmp, err := tempFile(path, want, d.mode)
	if err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: d.testStep, Object: d.object(), Message: err.Error()}
	}
	if out, err := test(ctx, tmp); err != nil {
		os.Remove(tmp)
		return &wire.Error{Code: wire.ExitFailed, Step: d.testStep, Object: d.object(),
			Message: fmt.Sprintf("%s refused the rendered config: %v", d.name, err), Detail: out}
	}
	d.action, d.tmp = actInstall, tmp
	return nil
}

// pristine reports whether data, the installed config, is a package's
// untouched default, and remembers the package.
func (d *daemon) pristine(a *Agent, data []byte) bool {
	pkg, ok := a.packageDefault(d.confPath, data)
	if ok {
		d.pkg = pkg
	}
	return ok
}

// cleanup removes a temporary file that was not installed.
func (d *daemon) cleanup() {
	if d != nil && d.tmp != "" {
		os.Remove(d.tmp)
	}
}

// commitDaemon installs, reloads, starts or stops d as prepared, and
// registers the undo with tx.
func (a *Agent) commitDaemon(ctx context.Context, d *daemon, tx *txn, rep *wire.ApplyReport) *wire.Error {
	path := a.path(d.confPath)
	switch d.action {
	case actNone:
		return nil
	case actEnsure:
		if running, _ := a.running(ctx, d, d.want); running {
			return nil
		}
		tx.add(func() error { return a.stop(d) })
		rep.Reloads[d.name]++
		return a.bringUp(ctx, d, d.want, d.readyFor)
	case actRemove:
		tx.add(func() error {
			if err := d.old.restore(); err != nil {
				return err
			}
			return asError(a.bringUp(ctx, d, d.old.data, nil))
		})
		if err := a.stop(d); err != nil {
			return &wire.Error{Code: wire.ExitFailed, Step: "stop " + d.name, Object: d.object(), Message: err.Error()}
		}
		if kept := a.keptPackageDefault(d); kept != "" {
			// The package's default goes back where dpkg put it: a
			// conffile left missing counts, for dpkg, as deleted by the
			// admin, and no upgrade ships it again.
			if err := putBack(kept, path); err != nil {
				return &wire.Error{Code: wire.ExitFailed, Step: "put back " + d.pkg + "'s " + filepath.Base(d.confPath), Object: d.object(), Message: err.Error()}
			}
			tx.add(func() error { return keepBack(path, kept) })
			hostKept := d.confPath + strings.TrimPrefix(kept, path)
			d.warnings = append(d.warnings, fmt.Sprintf("%s: the %s package's default, kept as %s when lvs-agent took the file over, was put back in place: no %s object is left on this host",
				d.confPath, d.pkg, hostKept, d.name))
			rep.Files = append(rep.Files, d.confPath)
			return nil
		}
		if err := removeDurably(path); err != nil {
			return &wire.Error{Code: wire.ExitFailed, Step: "remove " + d.name + " config", Object: d.object(), Message: err.Error()}
		}
		rep.Files = append(rep.Files, d.confPath)
		return nil
	}
	var aside string
	if d.keepAside {
		var err error
		if aside, err = keepAside(path, d.old.data, time.Now()); err != nil {
			return &wire.Error{Code: wire.ExitFailed, Step: "keep hand-written " + filepath.Base(d.confPath), Object: d.object(), Message: err.Error()}
		}
		hostAside := d.confPath + strings.TrimPrefix(aside, path)
		rep.Files = append(rep.Files, hostAside)
		if d.pkg != "" {
			d.warnings = append(d.warnings, fmt.Sprintf("%s was the %s package's default, unchanged since it was installed (dpkg's checksum): "+
				"it was kept as %s (mode 0600) and replaced by the rendered config", d.confPath, d.pkg, hostAside))
		} else {
			d.warnings = append(d.warnings, fmt.Sprintf("%s had been replaced by a file lvs-agent did not write (its first line is not the managed marker), "+
				"while this host stores the %s it is rendered from: the file was kept as %s (mode 0600) and replaced by the rendered config",
				d.confPath, d.owner, hostAside))
		}
	}
	if err := install(d.tmp, path); err != nil {
		if aside != "" {
			os.Remove(aside)
		}
		return &wire.Error{Code: wire.ExitFailed, Step: "install " + filepath.Base(d.confPath), Object: d.object(), Message: err.Error()}
	}
	d.tmp = ""
	rep.Files = append(rep.Files, d.confPath)
	tx.add(func() error {
		if err := d.old.restore(); err != nil {
			return err
		}
		if aside != "" {
			// The hand-written file is back in its place: no copy of it
			// is left to confuse the next run.
			if err := removeDurably(aside); err != nil {
				return err
			}
		}
		if !d.old.exists {
			return a.stop(d)
		}
		return asError(a.bringUp(ctx, d, d.old.data, nil))
	})
	rep.Reloads[d.name]++
	return a.bringUp(ctx, d, d.want, d.readyFor)
}

// asError turns a nil *wire.Error into a nil error.
func asError(e *wire.Error) error {
	if e == nil {
		return nil
	}
	return e
}

// bringUp makes the daemon run the installed config conf: reload it when
// it runs in the right mode, restart it when its mode must change, start
// it when it does not run. It then waits until the daemon shows it runs
// conf (awaitDaemon with readyFor's evidence; nil: none) and fails when it
// did not stay up.
func (a *Agent) bringUp(ctx context.Context, d *daemon, conf []byte, readyFor func(fresh bool) readiness) *wire.Error {
	fail := func(step string, err error, detail string) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: d.object(), Message: err.Error(), Detail: detail}
	}
	ready := func(fresh bool) readiness {
		if readyFor == nil {
			return nil
		}
		return readyFor(fresh)
	}
	if a.systemdRuns(ctx, d.name) {
		if _, stderr, err := a.Run.Run(ctx, "systemctl", "reload-or-restart", d.name); err != nil {
			return fail(d.reloadStep, fmt.Errorf("systemctl reload-or-restart %s: %w", d.name, err), stderr)
		}
		return a.awaitDaemon(ctx, d, d.reloadStep, 0, ready(false))
	}
	running, modeOK := a.running(ctx, d, conf)
	if running && modeOK {
		pid, _ := a.pid(d)
		evidence := ready(false)
		if cl, ok := a.Procs.(childLister); ok && d.newWorkerOnReload && evidence == nil {
			evidence = newChild(cl, pid, d.name)
		}
		if err := a.Procs.Signal(pid, d.reloadSig); err != nil {
			return fail(d.reloadStep, fmt.Errorf("signal %v to %s pid %d: %w", d.reloadSig, d.name, pid, err), "")
		}
		return a.awaitDaemon(ctx, d, d.reloadStep, pid, evidence)
	}
	if running {
		if err := a.stop(d); err != nil {
			return fail("restart "+d.name, err, "")
		}
	}
	step := "start " + d.name
	if d.beforeStart != nil {
		if err := d.beforeStart(); err != nil {
			return fail(step, err, "")
		}
	}
	args := d.startArgs(conf)
	if _, stderr, err := a.Run.Run(ctx, args[0], args[1:]...); err != nil {
		return fail(step, fmt.Errorf("%s: %w", strings.Join(args, " "), err), stderr)
	}
	return a.awaitDaemon(ctx, d, step, 0, ready(true))
}

func (a *Agent) poll() time.Duration {
	if a.Poll > 0 {
		return a.Poll
	}
	return 100 * time.Millisecond
}

// stop stops the daemon and waits (bounded) until it is gone. A daemon
// without a live pid file is not running: nothing to stop.
func (a *Agent) stop(d *daemon) error {
	pid, err := a.pid(d)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stopping %s: %w", d.name, err)
	}
	if !a.Procs.Alive(pid) {
		return nil
	}
	if err := a.Procs.Signal(pid, d.stopSig); err != nil {
		return fmt.Errorf("stopping %s pid %d: %w", d.name, pid, err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(a.poll()) {
		if !a.Procs.Alive(pid) {
			return nil
		}
	}
	return fmt.Errorf("%s pid %d still runs 10s after signal %v", d.name, pid, d.stopSig)
}

// running reports whether the daemon runs, and whether it runs with the
// arguments conf needs (else it must be restarted, not reloaded).
func (a *Agent) running(ctx context.Context, d *daemon, conf []byte) (running, modeOK bool) {
	if a.systemdRuns(ctx, d.name) {
		return true, true
	}
	pid, err := a.pid(d)
	if err != nil || !a.Procs.Alive(pid) {
		return false, false
	}
	cmdline, err := a.Procs.Cmdline(pid)
	if err != nil {
		return true, true
	}
	return true, !vrrpOnly(cmdline) || vrrpOnly(d.startArgs(conf)) || !hasVirtualServers(conf)
}

// vrrpOnly reports whether args run keepalived VRRP only (-P), which a
// reload cannot change: such a keepalived never starts its checker
// process. The agent no longer starts it so, but one started so by an
// earlier agent runs a config without virtual_server blocks as well as
// one started without -P would, and is reloaded, not restarted, for it.
func vrrpOnly(args []string) bool {
	return slices.Contains(args, "-P") || slices.Contains(args, "--vrrp")
}

// pid reads the daemon's pid file.
func (a *Agent) pid(d *daemon) (int, error) {
	b, err := os.ReadFile(a.path(d.pidFile))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", d.pidFile, err)
	}
	return pid, nil
}

// systemdRuns reports whether systemd runs the daemon's unit: then
// systemd, not the agent, reloads it.
func (a *Agent) systemdRuns(ctx context.Context, unit string) bool {
	if _, err := os.Stat(a.path("/run/systemd/system")); err != nil {
		return false
	}
	_, _, err := a.Run.Run(ctx, "systemctl", "is-active", "--quiet", unit)
	return err == nil
}

// path is where a host path lives below the root.
func (a *Agent) path(p string) string { return filepath.Join(a.Root, p) }

// daemonState observes d: running, config ours, config equal to want.
func (a *Agent) daemonState(ctx context.Context, d *daemon, want []byte) *wire.DaemonState {
	st := &wire.DaemonState{}
	st.Running, _ = a.running(ctx, d, want)
	data, exists, err := readOptional(a.path(d.confPath))
	if err != nil || !exists {
		return st
	}
	sum := sha256.Sum256(data)
	st.ConfigSHA256 = hex.EncodeToString(sum[:])
	st.ConfigOurs = isOurs(data)
	st.ConfigMatches = want != nil && string(data) == string(want)
	return st
}

// keptPackageDefault is the newest copy keepAside made of d's config that
// is still the package's default (dpkg's checksum), or "" (none, or each
// edited since). It sets d.pkg.
func (a *Agent) keptPackageDefault(d *daemon) string {
	kept, _ := filepath.Glob(a.path(d.confPath) + ".lvs-foreign-*")
	slices.Sort(kept) // UTC times: the newest last
	for i := len(kept) - 1; i >= 0; i-- {
		data, err := os.ReadFile(kept[i])
		if err == nil && d.pristine(a, data) {
			return kept[i]
		}
	}
	return ""
}

// putBack moves kept, a package's default kept aside, back to path with
// the mode the package installs it with.
func putBack(kept, path string) error {
	if err := os.Chmod(kept, 0o644); err != nil {
		return err
	}
	if err := os.Rename(kept, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// keepBack undoes putBack: the default goes aside again (0600).
func keepBack(path, kept string) error {
	if err := os.Rename(path, kept); err != nil {
		return err
	}
	if err := os.Chmod(kept, secretFileMode); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// keepAside copies data, a hand-written config at path, to
// path.lvs-foreign-<UTC time> (another suffix when that exists), 0600 as
// it may hold secrets, and returns where.
func keepAside(path string, data []byte, now time.Time) (string, error) {
	base := path + ".lvs-foreign-" + now.UTC().Format("20060102T150405Z")
	for i := 1; ; i++ {
		p := base
		if i > 1 {
			p = fmt.Sprintf("%s-%d", base, i)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, secretFileMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("keeping the hand-written file: %w", err)
		}
		_, err = f.Write(data)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(p)
			return "", fmt.Errorf("keeping the hand-written file as %s: %w", p, err)
		}
		return p, nil
	}
}

// childLister is a Procs that can list a process's children (HostProcs).
type childLister interface {
	Children(pid int) []int
}

// newChild is the evidence that pid forked a child it does not have now.
func newChild(cl childLister, pid int, name string) readiness {
	before := map[int]bool{}
	for _, c := range cl.Children(pid) {
		before[c] = true
	}
	return func() (bool, string) {
		for _, c := range cl.Children(pid) {
			if !before[c] {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%s pid %d has no new worker yet", name, pid)
	}
}
