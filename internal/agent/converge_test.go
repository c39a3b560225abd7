package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// What Debian's keepalived 2.2.7 prints for a service whose real servers
// are all at weight 0 (a drain before a destroy), exiting 5.
const drainedWarnings = "Warning - quorum 1 for [10.0.0.30]:tcp:80 exceeds total weight of real servers 0, reducing quorum to 0\n" +
	"Virtual server [10.0.0.30]:tcp:80: hysteresis 0 >= quorum 0; setting hysteresis to 4294967295\n"

func TestKeepalivedTestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		out    string
		accept bool
	}{
		{"drained to zero", drainedWarnings, true},
		{"drained, two services", drainedWarnings + strings.ReplaceAll(drainedWarnings, "10.0.0.30", "10.0.0.31"), true},
		{"fwmark service drained", "Warning - quorum 2 for FWM 7 exceeds total weight of real servers 0, reducing quorum to 0\n" +
			"Virtual server FWM 7: hysteresis 1 >= quorum 0; setting hysteresis to 4294967295\n", true},
		{"empty output", "", false},
		{"quorum above a non-zero total is a mistake", "Warning - quorum 3 for [10.0.0.31]:tcp:80 exceeds total weight of real servers 1, reducing quorum to 1\n" +
			"Virtual server [10.0.0.31]:tcp:80: hysteresis 1 >= quorum 1; setting hysteresis to 0\n", false},
		{"hysteresis alone is a mistake", "Virtual server [10.0.0.30]:tcp:80: hysteresis 0 >= quorum 0; setting hysteresis to 4294967295\n", false},
		{"hysteresis of another service", "Warning - quorum 1 for [10.0.0.30]:tcp:80 exceeds total weight of real servers 0, reducing quorum to 0\n" +
			"Virtual server [10.0.0.31]:tcp:80: hysteresis 0 >= quorum 0; setting hysteresis to 4294967295\n", false},
		{"with a real error", drainedWarnings + "(/etc/keepalived/keepalived.conf: Line 9) Unknown keyword 'bogus_kw'\n", false},
		{"real error first", "(/etc/keepalived/keepalived.conf: Line 9) Unknown keyword 'bogus_kw'\n" + drainedWarnings, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warns, ok := harmlessKeepalivedWarnings(tc.out)
			if ok != tc.accept {
				t.Fatalf("harmless = %v, want %v (warnings %q)", ok, tc.accept, warns)
			}
			if ok && len(warns) == 0 {
				t.Error("accepted without saying what keepalived warned about")
			}
		})
	}
}

func TestDrainedToZeroServiceIsAValidConfig(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100)})
	f.testFail["keepalived"] = drainedWarnings
	f.testExit["keepalived"] = 5
	resp := mustApply(t, a, []wire.Object{directorObj(90)})
	if !isOurs([]byte(f.read(KeepalivedConf))) || !strings.Contains(f.read(KeepalivedConf), "priority 90") {
		t.Errorf("the drained config was not installed:\n%s", f.read(KeepalivedConf))
	}
	if w := strings.Join(resp.Warnings, "\n"); !strings.Contains(w, "exceeds total weight of real servers 0") {
		t.Errorf("warnings %q: keepalived's warning is not reported", resp.Warnings)
	}

	// The same exit status for a real error is still a refusal.
	before := f.read(KeepalivedConf)
	f.testFail["keepalived"] = drainedWarnings + "(/etc/keepalived/keepalived.conf: Line 9) Unknown keyword 'bogus_kw'"
	resp, code := apply(t, a, []wire.Object{directorObj(80)})
	if code != wire.ExitFailed || resp.Error.Step != "test keepalived config" || !strings.Contains(resp.Error.Detail, "bogus_kw") {
		t.Fatalf("exit %d, error %+v: want the refusal of keepalived -t", code, resp.Error)
	}
	if f.read(KeepalivedConf) != before {
		t.Error("a config with a real error was installed")
	}
	// Another exit status (a fatal error) is never read as warnings.
	f.testFail["keepalived"] = drainedWarnings
	f.testExit["keepalived"] = 1
	if _, code := apply(t, a, []wire.Object{directorObj(80)}); code != wire.ExitFailed {
		t.Errorf("exit status 1 of keepalived -t: apply exit %d, want refused", code)
	}
}

func TestHandReplacedKeepalivedConfigOfAStoredDirectorIsRepaired(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100)})
	want := f.read(KeepalivedConf)
	foreign := "! hand-written\nvrrp_instance HAND { }\n"
	path := filepath.Join(f.root, KeepalivedConf)
	if err := os.WriteFile(path, []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	f.take()

	resp := mustApply(t, a, []wire.Object{directorObj(100)})
	if got := f.read(KeepalivedConf); got != want {
		t.Errorf("keepalived.conf after the repair:\n%s\nwant:\n%s", got, want)
	}
	backups, err := filepath.Glob(path + ".lvs-foreign-*")
	if err != nil || len(backups) != 1 {
		t.Fatalf("backups %q (%v), want one", backups, err)
	}
	fi, err := os.Stat(backups[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	if got := f.read(strings.TrimPrefix(backups[0], f.root)); got != foreign {
		t.Errorf("backup holds %q, want the hand-written file", got)
	}
	hostPath := strings.TrimPrefix(backups[0], f.root)
	if w := strings.Join(resp.Warnings, "\n"); !strings.Contains(w, hostPath) || !strings.Contains(w, KeepalivedConf) {
		t.Errorf("warnings %q do not say where the hand-written file went (%s)", resp.Warnings, hostPath)
	}
	if calls, signals := f.take(); !slices.Contains(signals, "keepalived hangup") || !strings.Contains(strings.Join(calls, "\n"), "keepalived -t") {
		t.Errorf("calls %q, signals %q: want the config tested and keepalived reloaded", calls, signals)
	}
	// Nothing more to do: the next apply neither backs up nor reloads.
	resp = mustApply(t, a, []wire.Object{directorObj(100)})
	if b, _ := filepath.Glob(path + ".lvs-foreign-*"); len(b) != 1 || len(resp.Warnings) != 0 {
		t.Errorf("second apply: backups %q, warnings %q", b, resp.Warnings)
	}
}

func TestRepairOfAHandReplacedConfigIsUndoneWithTheApply(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, append([]wire.Object{directorObj(100)}, haproxyObjs(80)...))
	foreign := "! hand-written\n"
	path := filepath.Join(f.root, KeepalivedConf)
	if err := os.WriteFile(path, []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	// haproxy dies on its reload, after keepalived.conf was repaired: the
	// apply is undone, the hand-written file is back, and no backup of it
	// is left behind to confuse the next run.
	f.dieOnSignal["haproxy"] = true
	resp, code := apply(t, a, append([]wire.Object{directorObj(100)}, haproxyObjs(81)...))
	if code != wire.ExitFailed || resp.Error.Step != "reload haproxy" {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	if got := f.read(KeepalivedConf); got != foreign {
		t.Errorf("keepalived.conf after the failed apply:\n%s\nwant the hand-written file back", got)
	}
	if b, _ := filepath.Glob(path + ".lvs-foreign-*"); len(b) != 0 {
		t.Errorf("backups left by an undone apply: %q", b)
	}
}

func TestForeignKeepalivedConfigOfANewDirectorIsStillRefused(t *testing.T) {
	f, a := newFakeHost(t)
	// Stored haproxy objects do not make keepalived.conf ours: only a
	// stored director does.
	mustApply(t, a, haproxyObjs(80))
	foreign := "! hand-written\n"
	path := filepath.Join(f.root, KeepalivedConf)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, code := apply(t, a, []wire.Object{directorObj(100)})
	if code != wire.ExitForeign {
		t.Fatalf("exit %d, error %+v; want ExitForeign", code, resp.Error)
	}
	if f.read(KeepalivedConf) != foreign {
		t.Error("the foreign keepalived.conf was changed")
	}
	if b, _ := filepath.Glob(path + ".lvs-foreign-*"); len(b) != 0 {
		t.Errorf("backups made for a refused apply: %q", b)
	}
}

func TestKeepAsideNeverOverwritesAnEarlierCopy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	now := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
	first, err := keepAside(path, []byte("one"), now)
	if err != nil {
		t.Fatal(err)
	}
	second, err := keepAside(path, []byte("two"), now)
	if err != nil {
		t.Fatal(err)
	}
	if first != path+".lvs-foreign-20261201T210000Z" || second != first+"-2" {
		t.Errorf("copies at %s and %s", first, second)
	}
	for p, want := range map[string]string{first: "one", second: "two"} {
		if b, err := os.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("%s holds %q (%v), want %q", p, b, err, want)
		}
	}
}
