package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

const testSelf = "/var/lib/lvs-agent/bin/lvs-agent-test-0123456789ab"

var directorKey = wire.Key{Kind: wire.KindDirector, ID: "director"}

func bootHost(t *testing.T) (*fakeHost, *Agent) {
	f, a := newFakeHost(t)
	a.Self = testSelf
	return f, a
}

func assertLink(t *testing.T, root, want string) {
	t.Helper()
	got, err := os.Readlink(filepath.Join(root, CurrentLink))
	switch {
	case want == "" && !errors.Is(err, os.ErrNotExist):
		t.Errorf("%s -> %q (%v); want no link", CurrentLink, got, err)
	case want != "" && got != want:
		t.Errorf("%s -> %q (%v); want %q", CurrentLink, got, err, want)
	}
}

func assertAbsent(t *testing.T, root, p string) {
	t.Helper()
	if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists (%v); want it gone", p, err)
	}
}

func TestBootHookWithoutSystemdIsAnRCLocalLine(t *testing.T) {
	f, a := bootHost(t)
	resp := mustApply(t, a, []wire.Object{directorObj(100)})
	want := "#!/bin/sh\n" + render.ManagedMarker + "\n" +
		"[ -x /var/lib/lvs-agent/bin/lvs-agent-current ] && /var/lib/lvs-agent/bin/lvs-agent-current restore >/run/lvs-agent-restore.json 2>&1 # lvs-agent: restore at boot\n"
	if got := f.read(RCLocal); got != want {
		t.Errorf("rc.local =\n%s\nwant\n%s", got, want)
	}
	assertMode(t, filepath.Join(f.root, RCLocal), 0o755)
	assertLink(t, f.root, testSelf)
	assertAbsent(t, f.root, RestoreUnit)
	for _, p := range []string{RCLocal, CurrentLink} {
		if !slices.Contains(resp.Applied.Files, p) {
			t.Errorf("files written %q do not name %s", resp.Applied.Files, p)
		}
	}

	// Unchanged: nothing written.
	if resp := mustApply(t, a, []wire.Object{directorObj(100)}); len(resp.Applied.Files) != 0 {
		t.Errorf("an unchanged apply wrote %q", resp.Applied.Files)
	}
	// A new agent version moves the link.
	a.Self = testSelf + "-new"
	mustApply(t, a, nil)
	assertLink(t, f.root, testSelf+"-new")

	// The last object gone: the file lvs-agent created and the link too.
	mustApply(t, a, nil, directorKey)
	assertAbsent(t, f.root, RCLocal)
	assertLink(t, f.root, "")
}

func TestBootHookKeepsAForeignRCLocal(t *testing.T) {
	f, a := bootHost(t)
	orig := "#!/bin/sh -e\n# site script\n/usr/local/bin/site-up\n\nexit 0\n"
	p := filepath.Join(f.root, RCLocal)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(orig), 0o750); err != nil {
		t.Fatal(err)
	}
	mustApply(t, a, []wire.Object{directorObj(100)})
	got := f.read(RCLocal)
	want := "#!/bin/sh -e\n# site script\n/usr/local/bin/site-up\n\n" + rcLocalLine + "\nexit 0\n"
	if got != want {
		t.Errorf("rc.local =\n%s\nwant the line before exit 0:\n%s", got, want)
	}
	assertMode(t, p, 0o750|0o111)
	mustApply(t, a, []wire.Object{directorObj(100)})
	if f.read(RCLocal) != want {
		t.Error("a second apply changed rc.local")
	}
	mustApply(t, a, nil, directorKey)
	if got := f.read(RCLocal); got != orig {
		t.Errorf("after delete rc.local =\n%s\nwant the original back:\n%s", got, orig)
	}
}

func TestNoBootHookWithoutKnowingItsPath(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100)})
	assertAbsent(t, f.root, RCLocal)
	assertAbsent(t, f.root, CurrentLink)
}

// systemdHost answers systemctl like a host where systemd runs and no
// unit is active (the agent starts the daemons itself in these tests).
type systemdHost struct {
	*fakeHost
	mu      sync.Mutex
	enabled map[string]bool
	cmds    []string
}

func (s *systemdHost) Run(ctx context.Context, name string, args ...string) (string, string, error) {
	if name != "systemctl" {
		return s.fakeHost.Run(ctx, name, args...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := strings.Join(args, " ")
	unit := args[len(args)-1]
	switch args[0] {
	case "is-active":
		return "", "", errors.New("exit status 3")
	case "daemon-reload":
	case "is-enabled":
		if !s.enabled[unit] {
			return "", "", errors.New("exit status 1")
		}
		return "", "", nil
	case "enable":
		s.enabled[unit] = true
	case "disable":
		s.enabled[unit] = false
	default:
		s.t.Errorf("unexpected systemctl %s", cmd)
		return "", "", errors.New("unexpected")
	}
	s.cmds = append(s.cmds, cmd)
	return "", "", nil
}

func (s *systemdHost) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cmds
	s.cmds = nil
	return c
}

func newSystemdHost(t *testing.T) (*systemdHost, *Agent) {
	f, a := bootHost(t)
	if err := os.MkdirAll(filepath.Join(f.root, "run/systemd/system"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &systemdHost{fakeHost: f, enabled: map[string]bool{"haproxy": true}}
	a.Run = s
	return s, a
}

func TestBootHookUnderSystemdIsAnEnabledUnit(t *testing.T) {
	s, a := newSystemdHost(t)
	// A VRRP-only director needs keepalived at boot, not a restore.
	mustApply(t, a, []wire.Object{directorObj(100)})
	assertAbsent(t, s.root, RestoreUnit)
	if got, want := s.take(), []string{"enable keepalived"}; !slices.Equal(got, want) {
		t.Errorf("systemctl %q; want %q", got, want)
	}
	// A virtual server brings director sysctls (kernel state).
	lvs := []wire.Object{directorObj(100), vsObj(), rsObj("192.168.0.21")}
	mustApply(t, a, lvs)
	unit := s.read(RestoreUnit)
	for _, want := range []string{render.ManagedMarker + "\n", "Type=oneshot", "After=network-online.target",
		"Wants=network-online.target", "WantedBy=multi-user.target", "ExecStart=" + CurrentLink + " restore\n"} {
		if !strings.Contains(unit, want) {
			t.Errorf("%s lacks %q:\n%s", RestoreUnit, want, unit)
		}
	}
	assertMode(t, filepath.Join(s.root, RestoreUnit), 0o644)
	assertLink(t, s.root, testSelf)
	assertAbsent(t, s.root, RCLocal)
	if got, want := s.take(), []string{"daemon-reload", "enable lvs-agent-restore.service"}; !slices.Equal(got, want) {
		t.Errorf("systemctl %q; want %q", got, want)
	}
	mustApply(t, a, lvs)
	if got := s.take(); len(got) != 0 {
		t.Errorf("an unchanged apply ran systemctl %q", got)
	}

	// haproxy was enabled before lvs-agent came: it stays enabled when its
	// objects go; keepalived, which lvs-agent enabled, is disabled again.
	mustApply(t, a, haproxyObjs(8080))
	s.take()
	keys := []wire.Key{directorKey, lvs[1].Key, lvs[2].Key}
	for _, o := range haproxyObjs(8080) {
		keys = append(keys, o.Key)
	}
	mustApply(t, a, nil, keys...)
	if got, want := s.take(), []string{"disable lvs-agent-restore.service", "daemon-reload", "disable keepalived"}; !slices.Equal(got, want) {
		t.Errorf("systemctl %q; want %q", got, want)
	}
	if !s.enabled["haproxy"] || s.enabled["keepalived"] || s.enabled[restoreUnitName] {
		t.Errorf("enabled units at the end: %v", s.enabled)
	}
	assertAbsent(t, s.root, RestoreUnit)
	assertAbsent(t, s.root, bootStateFile)
	assertLink(t, s.root, "")
}

func TestForeignRestoreUnitFailsTheApplyAndUndoesIt(t *testing.T) {
	s, a := newSystemdHost(t)
	p := filepath.Join(s.root, RestoreUnit)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("[Unit]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, code := apply(t, a, []wire.Object{directorObj(100), vsObj(), rsObj("192.168.0.21")})
	if code != wire.ExitForeign || resp.Error.Object != RestoreUnit {
		t.Fatalf("apply over a foreign unit: exit %d, %v; want %d naming %s", code, resp.Error, wire.ExitForeign, RestoreUnit)
	}
	assertLink(t, s.root, "")
	assertAbsent(t, s.root, KeepalivedConf)
	assertAbsent(t, s.root, SysctlFragment)
	if s.sysctl("net.ipv4.conf.all.send_redirects") != "1" {
		t.Error("the sysctls were not undone")
	}
	if s.read(RestoreUnit) != "[Unit]\n" {
		t.Error("the foreign unit was changed")
	}
}

func TestEditRCLocal(t *testing.T) {
	for _, tc := range []struct{ name, old, want string }{
		{"empty file", "", "#!/bin/sh\n" + rcLocalLine + "\n"},
		{"no exit", "#!/bin/sh\necho hi\n", "#!/bin/sh\necho hi\n" + rcLocalLine + "\n"},
		{"exit then blank", "#!/bin/sh\nexit 0\n\n", "#!/bin/sh\n" + rcLocalLine + "\nexit 0\n\n"},
		{"stale line moved", "#!/bin/sh\nfoo " + rcLocalMark + "\nexit 0\n", "#!/bin/sh\n" + rcLocalLine + "\nexit 0\n"},
	} {
		got := editRCLocal(snapshot{exists: true, data: []byte(tc.old)}, true)
		if string(got) != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}

func TestIPVSSysctlsLoadIPVSFirst(t *testing.T) {
	f, a, table := netlinkHost(t)
	// As at boot: net.ipv4.vs exists only once ip_vs is loaded, which
	// opening the IPVS netlink family does.
	key := filepath.Join(f.root, "proc/sys/net/ipv4/vs/expire_nodest_conn")
	opens := 0
	a.IPVS = func() (ipvs.Client, error) {
		opens++
		if err := os.MkdirAll(filepath.Dir(key), 0o755); err != nil {
			return nil, err
		}
		if _, err := os.Stat(key); err != nil {
			if err := os.WriteFile(key, []byte("0\n"), 0o644); err != nil {
				return nil, err
			}
		}
		return nopCloser{table}, nil
	}
	d := netlinkDirector()
	d.Director.Sysctls = []model.Sysctl{{Key: "net.ipv4.vs.expire_nodest_conn", Value: "1"}}
	mustApply(t, a, []wire.Object{d})
	if got := f.sysctl("net.ipv4.vs.expire_nodest_conn"); got != "1" {
		t.Errorf("net.ipv4.vs.expire_nodest_conn = %q, want 1", got)
	}
	if opens == 0 {
		t.Error("IPVS was never opened")
	}
}
