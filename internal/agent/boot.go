package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// Restore at boot (DESIGN.md principle 6). IPVS services the agent
// programs over netlink, the real-server side's addresses, the runtime
// sysctls and the firewall marks (nftables) live only in the kernel: after a reboot they are gone. When the
// stored objects need any of them, every apply makes sure the host runs
// `lvs-agent restore` at boot:
//
//   - a stable path to the agent: the symlink CurrentLink to the binary
//     that applied (the provider installs versioned binaries beside each
//     other, so the link follows upgrades);
//   - on a host where systemd runs: the oneshot unit RestoreUnit, after
//     network-online.target and after keepalived and haproxy (which systemd
//     starts itself), enabled with systemctl; keepalived and haproxy are
//     enabled too when the host runs them;
//   - elsewhere (sysvinit, busybox init, a container): one line in
//     /etc/rc.local (created, executable, when there is none), which also
//     brings keepalived and haproxy up again, since no service manager
//     does.
//
// When the last object that needed it is deleted, the hook, the link and
// the units the agent enabled go away again; an /etc/rc.local the agent
// created is removed, a foreign one loses only its line.
const (
	// CurrentLink is the stable path of the agent the boot hook runs.
	CurrentLink = StateDir + "/bin/lvs-agent-current"
	// RestoreUnit is the systemd unit that runs the restore at boot.
	RestoreUnit = "/etc/systemd/system/lvs-agent-restore.service"
	// RCLocal is where hosts without systemd run commands at boot.
	RCLocal = "/etc/rc.local"
	// RestoreLog is where the rc.local hook leaves the restore's response
	// (the unit's goes to the journal).
	RestoreLog = "/run/lvs-agent-restore.json"
	// bootStateFile records the services the agent enabled, so that it
	// disables exactly those.
	bootStateFile = StateDir + "/boot.json"

	restoreUnitName = "lvs-agent-restore.service"
	rcLocalMark     = "# lvs-agent: restore at boot"
)

// rcLocalLine runs the restore from /etc/rc.local; it is harmless where
// the link does not exist.
var rcLocalLine = fmt.Sprintf("[ -x %[1]s ] && %[1]s restore >%[2]s 2>&1 %[3]s", CurrentLink, RestoreLog, rcLocalMark)

// restoreUnitText is RestoreUnit's content.
var restoreUnitText = render.ManagedMarker + `
[Unit]
Description=Restore what lvs-agent applied (netlink IPVS, addresses, sysctls, firewall marks)
Wants=network-online.target
After=network-online.target keepalived.service haproxy.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=` + CurrentLink + ` restore

[Install]
WantedBy=multi-user.target
`

type bootState struct {
	// Enabled lists the systemd units the agent enabled (they were not).
	Enabled []string `json:"enabled,omitempty"`
}

// needsBootHook reports whether the host's objects put state in the
// kernel that only a restore brings back after a reboot; without systemd
// the daemons also need it.
func needsBootHook(hc *hostConfig, systemd bool) bool {
	kernel := len(netlinkServices(hc)) > 0 || hc.realServer != nil || len(hc.staticAddrs) > 0 || len(hc.sysctls) > 0 || len(hc.fwmarks) > 0
	daemons := hc.keepalived != nil || hc.haproxy != nil
	return kernel || (!systemd && daemons)
}

// systemdBoots reports whether systemd runs the host (so it runs the boot).
func (a *Agent) systemdBoots() bool {
	_, err := os.Stat(a.path("/run/systemd/system"))
	return err == nil
}

// applyBootHook installs, keeps or removes the restore-at-boot hook and
// the daemons' boot-time enablement, as the host's objects need. An agent
// that does not know its own path (Self empty) installs none. Undo puts
// back the files, the link and the units' enablement.
func (a *Agent) applyBootHook(ctx context.Context, hc *hostConfig, tx *txn, rep *wire.ApplyReport) *wire.Error {
	const step = "install boot hook"
	fail := func(object string, err error) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: object, Message: err.Error()}
	}
	systemd := a.systemdBoots()
	need := a.Self != "" && needsBootHook(hc, systemd)

	statePath := a.path(bootStateFile)
	stateSnap, err := takeSnapshot(statePath, secretFileMode)
	if err != nil {
		return fail(bootStateFile, err)
	}
	var st bootState
	if stateSnap.exists {
		if err := json.Unmarshal(stateSnap.data, &st); err != nil {
			return fail(bootStateFile, fmt.Errorf("%s: %w", bootStateFile, err))
		}
	}
	linkSnap, err := takeLink(a.path(CurrentLink))
	if err != nil {
		return fail(CurrentLink, err)
	}
	unitSnap, err := takeSnapshot(a.path(RestoreUnit), 0o644)
	if err != nil {
		return fail(RestoreUnit, err)
	}
	rcSnap, err := takeSnapshot(a.path(RCLocal), 0o755)
	if err != nil {
		return fail(RCLocal, err)
	}
	if rcSnap.exists {
		if fi, err := os.Stat(rcSnap.path); err == nil {
			rcSnap.mode = fi.Mode().Perm()
		}
	}
	// systemctl calls done, undone in reverse on failure.
	var undoCmds [][]string
	reloadSystemd := false
	tx.add(func() error {
		errs := []error{linkSnap.restore(), unitSnap.restore(), rcSnap.restore(), stateSnap.restore()}
		if systemd {
			for i := len(undoCmds) - 1; i >= 0; i-- {
				if _, stderr, err := a.Run.Run(ctx, "systemctl", undoCmds[i]...); err != nil {
					errs = append(errs, fmt.Errorf("systemctl %s: %w: %s", strings.Join(undoCmds[i], " "), err, stderr))
				}
			}
			if reloadSystemd {
				_, _, err := a.Run.Run(ctx, "systemctl", "daemon-reload")
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
	systemctl := func(args ...string) error {
		if _, stderr, err := a.Run.Run(ctx, "systemctl", args...); err != nil {
			return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr))
		}
		return nil
	}
	// enable enables unit unless it is; disable undoes what enable did.
	enable := func(unit string) error {
		if _, _, err := a.Run.Run(ctx, "systemctl", "is-enabled", "--quiet", unit); err == nil {
			return nil
		}
		if err := systemctl("enable", unit); err != nil {
			return err
		}
		undoCmds = append(undoCmds, []string{"disable", unit})
		if !slices.Contains(st.Enabled, unit) {
			st.Enabled = append(st.Enabled, unit)
		}
		return nil
	}
	disable := func(unit string) error {
		if !slices.Contains(st.Enabled, unit) {
			return nil
		}
		if err := systemctl("disable", unit); err != nil {
			return err
		}
		undoCmds = append(undoCmds, []string{"enable", unit})
		st.Enabled = slices.DeleteFunc(st.Enabled, func(u string) bool { return u == unit })
		return nil
	}

	// The link: to this agent while a hook needs it.
	if need {
		if changed, err := ensureLink(a.path(CurrentLink), a.Self); err != nil {
			return fail(CurrentLink, err)
		} else if changed {
			rep.Files = append(rep.Files, CurrentLink)
		}
	} else if linkSnap.exists {
		if err := removeDurably(a.path(CurrentLink)); err != nil {
			return fail(CurrentLink, err)
		}
		rep.Files = append(rep.Files, CurrentLink)
	}

	// The hook itself: the unit under systemd, else the rc.local line. A
	// host that changed init system since loses the other one.
	var unitWant []byte
	if need && systemd {
		unitWant = []byte(restoreUnitText)
	}
	if unitSnap.exists && !isOurs(unitSnap.data) {
		return &wire.Error{Code: wire.ExitForeign, Step: step, Object: RestoreUnit,
			Message: RestoreUnit + " was not written by lvs-agent; move it away to let lvs-agent install its restore unit"}
	}
	if unitWant == nil && unitSnap.exists && systemd {
		if err := disable(restoreUnitName); err != nil {
			return fail(RestoreUnit, err)
		}
	}
	changed, err := writeIfChanged(a.path(RestoreUnit), unitSnap, unitWant, 0o644)
	if err != nil {
		return fail(RestoreUnit, err)
	}
	if changed {
		rep.Files = append(rep.Files, RestoreUnit)
		if systemd {
			reloadSystemd = true
			if err := systemctl("daemon-reload"); err != nil {
				return fail(RestoreUnit, err)
			}
		}
	}
	if unitWant != nil {
		if err := enable(restoreUnitName); err != nil {
			return fail(RestoreUnit, err)
		}
	}

	rcWant := editRCLocal(rcSnap, need && !systemd)
	changed, err = writeIfChanged(a.path(RCLocal), rcSnap, rcWant, rcLocalMode(rcSnap))
	if err != nil {
		return fail(RCLocal, err)
	}
	if changed {
		rep.Files = append(rep.Files, RCLocal)
	}

	// The daemons start at boot through systemd where it runs.
	if systemd {
		for _, d := range []struct {
			unit string
			want bool
		}{{"keepalived", hc.keepalived != nil}, {"haproxy", hc.haproxy != nil}} {
			f := disable
			if d.want {
				f = enable
			}
			if err := f(d.unit); err != nil {
				return fail(d.unit+".service", err)
			}
		}
	}

	if len(st.Enabled) == 0 {
		err = removeDurably(statePath)
	} else if data, jerr := json.Marshal(st); jerr != nil {
		err = jerr
	} else if err = os.MkdirAll(filepath.Dir(statePath), secretDirMode); err == nil {
		_, err = writeIfChanged(statePath, stateSnap, data, secretFileMode)
	}
	if err != nil {
		return fail(bootStateFile, err)
	}
	return nil
}

// editRCLocal returns rc.local's content with (want) or without the
// restore line: nil when the file should not exist (lvs-agent created it
// and nothing else is in it).
func editRCLocal(old snapshot, want bool) []byte {
	if !old.exists && !want {
		return nil
	}
	header := "#!/bin/sh\n" + render.ManagedMarker + "\n"
	if !old.exists {
		return []byte(header + rcLocalLine + "\n")
	}
	text := string(old.data)
	var lines []string
	if text != "" {
		lines = strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	}
	has := slices.ContainsFunc(lines, isRCLocalLine)
	switch {
	case want && has:
		// Keep it as it is, unless the line changed.
		lines = slices.DeleteFunc(lines, isRCLocalLine)
		lines = insertBeforeExit(lines, rcLocalLine)
	case want:
		if len(lines) == 0 {
			lines = []string{"#!/bin/sh"}
		}
		lines = insertBeforeExit(lines, rcLocalLine)
	default:
		lines = slices.DeleteFunc(lines, isRCLocalLine)
	}
	out := strings.Join(lines, "\n") + "\n"
	if !want && out == header {
		return nil // only what lvs-agent wrote is left
	}
	return []byte(out)
}

func isRCLocalLine(line string) bool { return strings.HasSuffix(strings.TrimSpace(line), rcLocalMark) }

// insertBeforeExit puts line before a final `exit 0`, else at the end.
func insertBeforeExit(lines []string, line string) []string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "exit") {
			return slices.Insert(lines, i, line)
		}
		break
	}
	return append(lines, line)
}

// rcLocalMode is the mode of rc.local: executable, else init skips it.
func rcLocalMode(old snapshot) os.FileMode {
	if !old.exists {
		return 0o755
	}
	return old.mode | 0o111
}

// linkSnapshot is a symlink's target before a step, for undo.
type linkSnapshot struct {
	path   string
	target string
	exists bool
}

func takeLink(path string) (linkSnapshot, error) {
	target, err := os.Readlink(path)
	if errors.Is(err, fs.ErrNotExist) {
		return linkSnapshot{path: path}, nil
	}
	if err != nil {
		return linkSnapshot{}, err
	}
	return linkSnapshot{path: path, target: target, exists: true}, nil
}

func (s linkSnapshot) restore() error {
	if !s.exists {
		return removeDurably(s.path)
	}
	_, err := ensureLink(s.path, s.target)
	return err
}

// ensureLink makes path a symlink to target, atomically (a new link
// renamed over the old), and reports whether it changed anything.
func ensureLink(path, target string) (bool, error) {
	if got, err := os.Readlink(path); err == nil && got == target {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return false, err
	}
	if err := install(tmp, path); err != nil {
		return false, err
	}
	return true, nil
}

// loadIPVSFor makes the kernel load ip_vs before settings under
// net.ipv4.vs (net.ipv6.vs) are set: they exist only once it is loaded,
// and nothing has loaded it yet at boot or on a fresh host (keepalived
// loads it when it starts, after the sysctls). Opening the IPVS netlink
// family loads it; when that fails, setting the key reports the problem.
func (a *Agent) loadIPVSFor(list []model.Sysctl) {
	if a.IPVS == nil || !slices.ContainsFunc(list, func(s model.Sysctl) bool {
		return strings.HasPrefix(s.Key, "net.ipv4.vs.") || strings.HasPrefix(s.Key, "net.ipv6.vs.")
	}) {
		return
	}
	if c, err := a.IPVS(); err == nil {
		c.Close()
	}
}
