package agent

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// A director without virtual servers starts keepalived without -P:
// keepalived 2.x runs VRRP only for such a config by itself, and a later
// virtual_server is a reload, not a restart (see keepalived()).
func TestApplyDirectorStartsKeepalivedWithoutModeFlags(t *testing.T) {
	f, a := newFakeHost(t)
	resp := mustApply(t, a, []wire.Object{directorObj(100)})

	calls, _ := f.take()
	want := []string{
		"keepalived -t -f " + calls[0][len("keepalived -t -f "):], // the temporary file
		"keepalived -D -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid",
		"keepalived --signum=JSON",
	}
	if !slices.Equal(calls, want) {
		t.Errorf("commands:\n got %q\nwant %q", calls, want)
	}
	if !strings.HasPrefix(calls[0], "keepalived -t -f /etc/keepalived/.keepalived.conf.tmp-") {
		t.Errorf("keepalived -t did not test a temporary file beside the config: %s", calls[0])
	}
	conf := f.read(KeepalivedConf)
	if !strings.HasPrefix(conf, render.ManagedMarker) || !strings.Contains(conf, "vrrp_instance VI_1") {
		t.Errorf("keepalived.conf:\n%s", conf)
	}
	assertMode(t, filepath.Join(f.root, KeepalivedConf), 0o600)
	assertMode(t, filepath.Join(f.root, objectsDir, "director", "director.json"), 0o600)
	assertMode(t, filepath.Join(f.root, objectsDir, "director"), 0o700|os.ModeDir)
	if resp.Applied.Reloads["keepalived"] != 1 {
		t.Errorf("reloads = %v, want keepalived 1", resp.Applied.Reloads)
	}
	ka := resp.Observed.Keepalived
	if !ka.Running || !ka.ConfigOurs || !ka.ConfigMatches || ka.VRRP["VI_1"] != "MASTER" {
		t.Errorf("observed keepalived = %+v", ka)
	}
	if _, err := os.Stat(filepath.Join(f.root, keepalivedJSON)); err == nil {
		t.Error("the keepalived JSON dump (it may hold passwords) was left behind")
	}
	if resp.Observed.Hostname != "dir1" || len(resp.Observed.Objects) != 1 {
		t.Errorf("observed = %+v", resp.Observed)
	}
}

func TestUnchangedApplyDoesNotReload(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100)})
	f.take()
	resp := mustApply(t, a, []wire.Object{directorObj(100)})
	calls, signals := f.take()
	if slices.ContainsFunc(calls, func(c string) bool {
		return strings.HasPrefix(c, "keepalived -t") || strings.HasPrefix(c, "keepalived -D")
	}) {
		t.Errorf("unchanged config was tested or started again: %q", calls)
	}
	if slices.ContainsFunc(signals, func(s string) bool { return strings.Contains(s, "hangup") }) {
		t.Errorf("unchanged config was reloaded: %q", signals)
	}
	if resp.Applied.Reloads["keepalived"] != 0 || len(resp.Applied.Changed) != 0 || len(resp.Applied.Files) != 0 {
		t.Errorf("applied = %+v, want nothing", resp.Applied)
	}
}

func TestChangedConfigIsReloadedWithSIGHUP(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100)})
	f.take()
	resp := mustApply(t, a, []wire.Object{directorObj(90)})
	_, signals := f.take()
	if !slices.Contains(signals, "keepalived hangup") {
		t.Errorf("signals = %q, want a keepalived hangup", signals)
	}
	if !strings.Contains(f.read(KeepalivedConf), "priority 90") || resp.Applied.Reloads["keepalived"] != 1 {
		t.Errorf("reloads %v, config:\n%s", resp.Applied.Reloads, f.read(KeepalivedConf))
	}
}

func TestConfigTestFailureLeavesRunningConfigUntouched(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100)})
	before := f.read(KeepalivedConf)
	f.take()
	f.testFail["keepalived"] = "(/etc/keepalived/keepalived.conf: Line 7) unknown keyword 'bogus'"

	resp, code := apply(t, a, []wire.Object{directorObj(90)})
	if code != wire.ExitFailed || resp.Error.Step != "test keepalived config" || !strings.Contains(resp.Error.Detail, "unknown keyword 'bogus'") {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	if f.read(KeepalivedConf) != before {
		t.Error("a config that failed keepalived -t was installed")
	}
	if _, signals := f.take(); len(signals) != 0 {
		t.Errorf("signals after a failed test: %q", signals)
	}
	stored := f.read(filepath.Join(objectsDir, "director", "director.json"))
	if !strings.Contains(stored, `"priority": 100`) {
		t.Errorf("the refused object was stored:\n%s", stored)
	}
	assertNoTempFiles(t, filepath.Join(f.root, "etc/keepalived"))
}

func TestFailedReloadRestoresPreviousConfig(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100)})
	before := f.read(KeepalivedConf)
	f.take()
	f.dieOnSignal["keepalived"] = true

	resp, code := apply(t, a, []wire.Object{directorObj(90)})
	if code != wire.ExitFailed || resp.Error.Step != "reload keepalived" {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	if f.read(KeepalivedConf) != before {
		t.Error("the previous keepalived.conf was not restored after the failed reload")
	}
	calls, _ := f.take()
	if !slices.Contains(calls, "keepalived -D -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid") {
		t.Errorf("keepalived was not started again on the restored config: %q", calls)
	}
	obs, code := a.Handle(context.Background(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve})
	if code != wire.ExitOK || !obs.Observed.Keepalived.Running || !obs.Observed.Keepalived.ConfigMatches {
		t.Errorf("after the restore: exit %d, keepalived %+v (want running the stored objects' config)", code, obs.Observed.Keepalived)
	}
	if obs.Observed.AgentVersion != "test" {
		t.Errorf("observation says agent version %q, want the agent's own %q", obs.Observed.AgentVersion, "test")
	}
}

func TestForeignKeepalivedConfigIsRefused(t *testing.T) {
	f, a := newFakeHost(t)
	foreign := "vrrp_instance HAND { }\n"
	path := filepath.Join(f.root, KeepalivedConf)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, code := apply(t, a, []wire.Object{directorObj(100)})
	if code != wire.ExitForeign || !strings.Contains(resp.Error.Message, "import") {
		t.Fatalf("exit %d, error %+v; want ExitForeign explaining import", code, resp.Error)
	}
	if f.read(KeepalivedConf) != foreign {
		t.Error("the foreign keepalived.conf was changed")
	}
	if calls, _ := f.take(); len(calls) != 0 {
		t.Errorf("commands run for a foreign config: %q", calls)
	}
	if _, err := os.Stat(filepath.Join(f.root, objectsDir, "director")); err == nil {
		t.Error("the director was stored although its apply was refused")
	}
	// Imported (adopted), the hand-written file is replaced by ours.
	resp, code = a.Handle(context.Background(), &wire.Request{Version: wire.Version, Verb: wire.VerbApply,
		Put: []wire.Object{directorObj(100)}, Adopt: []wire.Key{directorObj(100).Key}})
	if code != wire.ExitOK || !isOurs([]byte(f.read(KeepalivedConf))) {
		t.Errorf("adopting: exit %d, error %v", code, resp.Error)
	}
}

func TestObjectsFromTwoRunsShareTheHostFile(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100), vsObj()})
	if conf := f.read(KeepalivedConf); strings.Contains(conf, "virtual_server ") {
		t.Errorf("a virtual server without real servers reached keepalived.conf:\n%s", conf)
	}
	f.take()
	// A second run adds the real servers only.
	mustApply(t, a, []wire.Object{rsObj("192.168.0.21"), rsObj("192.168.0.22")})
	conf := f.read(KeepalivedConf)
	for _, want := range []string{"vrrp_instance VI_1", "virtual_server 192.168.0.10 80", "real_server 192.168.0.21 80", "real_server 192.168.0.22 80"} {
		if !strings.Contains(conf, want) {
			t.Errorf("keepalived.conf lacks %q:\n%s", want, conf)
		}
	}
	calls, signals := f.take()
	// The first virtual_server is a reload (keepalived starts its checker
	// process on it), never a restart, which would drop the VIPs.
	if !slices.Contains(signals, "keepalived hangup") || slices.Contains(signals, "keepalived terminated") ||
		slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "keepalived -D") }) {
		t.Errorf("commands %q, signals %q: want a reload, not a restart", calls, signals)
	}
	if got := f.sysctl("net.ipv4.conf.all.send_redirects"); got != "0" {
		t.Errorf("DR director: send_redirects = %s, want 0", got)
	}
	if frag := f.read(SysctlFragment); !strings.Contains(frag, "net.ipv4.conf.all.send_redirects = 0") {
		t.Errorf("sysctl fragment:\n%s", frag)
	}
}

// A keepalived an earlier agent started VRRP only (-P) runs a config
// without virtual_server blocks as well as one started without it: a
// change of such a config is a reload. Only the first virtual_server needs
// the checker a -P keepalived never starts: then, and only then, it is
// restarted (without -P).
func TestVRRPOnlyKeepalivedOfAnEarlierAgentIsReloadedUntilItNeedsTheChecker(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100)})
	pid, err := a.pid(a.keepalived())
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.procs[pid] = append(f.procs[pid], "-P") // as an earlier agent started it
	f.mu.Unlock()
	f.take()

	mustApply(t, a, []wire.Object{directorObj(90)})
	calls, signals := f.take()
	if !slices.Contains(signals, "keepalived hangup") || slices.Contains(signals, "keepalived terminated") ||
		slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "keepalived -D") }) {
		t.Errorf("a VRRP-only change under a -P keepalived: commands %q, signals %q; want a reload", calls, signals)
	}

	mustApply(t, a, []wire.Object{vsObj(), rsObj("192.168.0.21")})
	calls, signals = f.take()
	if !slices.Contains(signals, "keepalived terminated") || !slices.Contains(calls, "keepalived -D -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid") {
		t.Errorf("the first virtual_server under a -P keepalived: commands %q, signals %q; want a restart without -P", calls, signals)
	}
}

func TestDeleteRemovesOnlyThatObjectsParts(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100), vsObj(), rsObj("192.168.0.21"), rsObj("192.168.0.22")})
	mustApply(t, a, nil, rsObj("192.168.0.22").Key)
	conf := f.read(KeepalivedConf)
	if strings.Contains(conf, "192.168.0.22") || !strings.Contains(conf, "real_server 192.168.0.21 80") || !strings.Contains(conf, "vrrp_instance VI_1") {
		t.Errorf("after deleting one real server:\n%s", conf)
	}
	if _, err := os.Stat(filepath.Join(f.root, objectsDir, "real_server", fileName(rsObj("192.168.0.22").ID))); err == nil {
		t.Error("the deleted real server's document is still stored")
	}
	// The last real server gone, DR needs no sysctls: the originals return.
	mustApply(t, a, nil, rsObj("192.168.0.21").Key)
	if got := f.sysctl("net.ipv4.conf.all.send_redirects"); got != "1" {
		t.Errorf("send_redirects = %s after its last user was deleted, want the original 1", got)
	}
	if _, err := os.Stat(filepath.Join(f.root, SysctlFragment)); err == nil {
		t.Error("the sysctl fragment outlived every setting in it")
	}
	// Deleting the director stops keepalived and removes its config.
	f.take()
	mustApply(t, a, nil, vsObj().Key, directorObj(0).Key)
	if _, err := os.Stat(filepath.Join(f.root, KeepalivedConf)); err == nil {
		t.Error("keepalived.conf outlived the director")
	}
	if _, signals := f.take(); !slices.Contains(signals, "keepalived terminated") {
		t.Errorf("signals %q: keepalived was not stopped", signals)
	}
}

func TestLockContentionExitsLocked(t *testing.T) {
	_, a := newFakeHost(t)
	unlock, err := lockHost(context.Background(), a.Root, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	began := time.Now()
	resp, code := apply(t, a, []wire.Object{directorObj(100)})
	if code != wire.ExitLocked || resp.Error.Step != "lock host" {
		t.Fatalf("exit %d, error %+v; want ExitLocked", code, resp.Error)
	}
	if waited := time.Since(began); waited < 900*time.Millisecond || waited > 5*time.Second {
		t.Errorf("waited %v for a 1s lock timeout", waited)
	}
}

func TestInvalidObjectIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	f, a := newFakeHost(t)
	bad := directorObj(100)
	bad.Director.Instances[0].VirtualRouterID = 300
	resp, code := apply(t, a, []wire.Object{bad})
	if code != wire.ExitBadRequest || resp.Error.Object != "director director" || !strings.Contains(resp.Error.Message, "virtual_router_id") {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	orphan := rsObj("192.168.0.21")
	if _, code := apply(t, a, []wire.Object{orphan}); code != wire.ExitBadRequest {
		t.Errorf("a real server without its virtual server: exit %d, want ExitBadRequest", code)
	}
	if calls, _ := f.take(); len(calls) != 0 {
		t.Errorf("commands run for a bad request: %q", calls)
	}
	if _, err := os.Stat(filepath.Join(f.root, KeepalivedConf)); err == nil {
		t.Error("keepalived.conf was written for a bad request")
	}
}

func TestHAProxyStartReloadAndCheckFailure(t *testing.T) {
	f, a := newFakeHost(t)
	resp := mustApply(t, a, haproxyObjs(80))
	calls, _ := f.take()
	if !slices.Contains(calls, "haproxy -W -D -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid") {
		t.Errorf("commands %q: haproxy not started master-worker", calls)
	}
	if st := resp.Observed.HAProxy; !st.Running || !st.ConfigOurs || !st.ConfigMatches {
		t.Errorf("observed haproxy %+v", st)
	}
	if _, err := os.Stat(filepath.Join(f.root, "run/haproxy")); err != nil {
		t.Errorf("the admin socket's directory was not made: %v", err)
	}

	mustApply(t, a, haproxyObjs(81))
	if _, signals := f.take(); !slices.Contains(signals, "haproxy user defined signal 2") {
		t.Errorf("signals %q: want SIGUSR2 to the master", signals)
	}

	before := f.read(HAProxyConf)
	f.testFail["haproxy"] = "[ALERT]    (1) : config : parsing [haproxy.cfg:20] : unknown keyword 'bogus'."
	resp, code := apply(t, a, haproxyObjs(82))
	if code != wire.ExitFailed || resp.Error.Step != "test haproxy config" || !strings.Contains(resp.Error.Detail, "[ALERT]") {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	if f.read(HAProxyConf) != before {
		t.Error("a config haproxy -c refused was installed")
	}
}

func TestHAProxyFailureUndoesKeepalived(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, append([]wire.Object{directorObj(100)}, haproxyObjs(80)...))
	kaBefore := f.read(KeepalivedConf)
	f.dieOnSignal["haproxy"] = true
	put := append([]wire.Object{directorObj(90)}, haproxyObjs(81)...)
	resp, code := apply(t, a, put)
	if code != wire.ExitFailed || resp.Error.Step != "reload haproxy" {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	if f.read(KeepalivedConf) != kaBefore {
		t.Error("keepalived.conf kept the new config although the apply failed at haproxy")
	}
}

func TestFileNameStaysInItsDirectory(t *testing.T) {
	for id, want := range map[string]string{
		"tcp/10.0.0.10:80":                "tcp%2F10.0.0.10%3A80.json",
		"..":                              "%2E..json",
		"tcp/[2001:db8::1]:80/[::2]:8080": "tcp%2F%5B2001%3Adb8%3A%3A1%5D%3A80%2F%5B%3A%3A2%5D%3A8080.json",
		"web":                             "web.json",
	} {
		if got := fileName(id); got != want {
			t.Errorf("fileName(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestParseVRRPJSON(t *testing.T) {
	d, err := parseVRRPJSON([]byte(`[{"data":{"iname":"VI_1","state":2,"vrid":51,"base_priority":150,"effective_priority":140,"nopreempt":false,"preempt_delay":0}},` +
		`{"data":{"iname":"VI_2","state":1,"effective_priority":90,"nopreempt":true,"preempt_delay":5}},{"data":{"iname":"VI_3","state":3,"effective_priority":80,"nopreempt":0}},` +
		`{"data":{"iname":"VI_4","state":1}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.states; got["VI_1"] != "MASTER" || got["VI_2"] != "BACKUP" || got["VI_3"] != "FAULT" || got["VI_4"] != "BACKUP" {
		t.Errorf("states = %v", got)
	}
	want := map[string]wire.VRRPElection{
		"VI_1": {Priority: 140, Preempt: true},
		"VI_2": {Priority: 90, Preempt: false, PreemptDelay: 5},
		"VI_3": {Priority: 80, Preempt: true},
	}
	if !reflect.DeepEqual(d.elections, want) {
		t.Errorf("elections = %+v, want %+v (an instance without effective_priority has none)", d.elections, want)
	}
	if _, err := parseVRRPJSON([]byte(`[{"data":{"iname":"VI_1"`)); err == nil {
		t.Error("a half-written dump parsed")
	}
}

func TestParseShowStat(t *testing.T) {
	csv := "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status\n" +
		"web,FRONTEND,,,0,0,262120,0,0,0,0,0,0,,,,,OPEN\n" +
		"web_servers,web1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP\n" +
		"web_servers,web2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN\n" +
		"web_servers,BACKEND,0,0,0,0,26212,0,0,0,0,0,,0,0,0,0,UP\n"
	got := parseShowStat(strings.NewReader(csv))
	if len(got) != 2 || got["web_servers/web1"] != "UP" || got["web_servers/web2"] != "DOWN" {
		t.Errorf("servers = %v", got)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", filepath.Join(dir, e.Name()))
		}
	}
}
