package agent

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	kipvs "github.com/cloudflare/ipvs"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// A reload is done as soon as the kernel's table shows keepalived
// programmed the change: no fixed settle, however long Settle is.
func TestReloadIsDoneOnEvidenceNotAfterASleep(t *testing.T) {
	f, a, _ := netlinkHost(t)
	a.Settle, a.ReloadTimeout = time.Minute, time.Minute
	mustApply(t, a, []wire.Object{directorObj(100), vsObj(), rsObj("192.168.0.21")}) // a start: keepalived programs all
	f.take()
	start := time.Now()
	resp := mustApply(t, a, []wire.Object{rsObj("192.168.0.22")})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the reload took %v: it waited for a timer, not for the table", d)
	}
	if _, signals := f.take(); len(signals) == 0 || signals[0] != "keepalived hangup" {
		t.Errorf("signals %q, want a reload", signals)
	}
	if resp.Applied.Reloads["keepalived"] != 1 {
		t.Errorf("reloads %v", resp.Applied.Reloads)
	}
	// The response's observation is after the reload: both destinations.
	var dests int
	for _, s := range resp.Observed.IPVS {
		dests += len(s.Destinations)
	}
	if dests != 2 {
		t.Errorf("observed %+v, want the service with both destinations", resp.Observed.IPVS)
	}
}

// A config byte-identical to the installed one is not reloaded at all.
func TestIdenticalConfigIsNotReloaded(t *testing.T) {
	f, a, _ := netlinkHost(t)
	objs := []wire.Object{directorObj(100), vsObj(), rsObj("192.168.0.21")}
	mustApply(t, a, objs)
	f.take()
	resp := mustApply(t, a, objs)
	if _, signals := f.take(); len(signals) != 0 && signals[0] == "keepalived hangup" {
		t.Errorf("signals %q: an identical config was reloaded", signals)
	}
	if resp.Applied.Reloads["keepalived"] != 0 {
		t.Errorf("reloads %v, want none", resp.Applied.Reloads)
	}
}

// keepalived that does not program what it was given (its checker stuck,
// or something else in the way) makes the step fail once ReloadTimeout is
// up, naming the host, the step and what is missing; the previous config
// is restored.
func TestReloadWithoutEvidenceFailsAfterTheTimeout(t *testing.T) {
	f, a, _ := netlinkHost(t)
	a.ReloadTimeout, a.Poll = 300*time.Millisecond, 10*time.Millisecond
	mustApply(t, a, []wire.Object{directorObj(100), vsObj(), rsObj("192.168.0.21")})
	before := f.read(KeepalivedConf)
	f.checker = nil // keepalived's checker stops programming
	start := time.Now()
	resp, code := apply(t, a, []wire.Object{rsObj("192.168.0.22")})
	if code != wire.ExitFailed || resp.Error == nil || resp.Error.Step != "reload keepalived" {
		t.Fatalf("exit %d, error %+v; want the reload step failed", code, resp.Error)
	}
	msg := resp.Error.Message
	for _, want := range []string{"host dir1", "reload keepalived", "destination 192.168.0.22:80 of tcp/192.168.0.10:80 not in the IPVS table", "300ms"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("failed after %v, before the timeout", d)
	}
	if f.read(KeepalivedConf) != before {
		t.Error("the previous keepalived.conf was not restored")
	}
}

// keepalived exiting during its reload fails the step at once, without
// waiting out the timeout.
func TestKeepalivedExitingDuringReloadFailsAtOnce(t *testing.T) {
	f, a, _ := netlinkHost(t)
	a.ReloadTimeout = time.Minute
	mustApply(t, a, []wire.Object{directorObj(100), vsObj(), rsObj("192.168.0.21")})
	f.dieOnSignal["keepalived"] = true
	start := time.Now()
	resp, code := apply(t, a, []wire.Object{rsObj("192.168.0.22")})
	if code != wire.ExitFailed || resp.Error.Step != "reload keepalived" || !strings.Contains(resp.Error.Message, "exited during") {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failed after %v: it waited for the timeout", d)
	}
}

// keepalived that exits before any poll saw it up after a start (with a
// checker on a kernel without IPVS it lives about 100ms, and its pid file
// goes with it) fails the start within StartGrace, not after
// ReloadTimeout: TestLabKeepalived's agent hung for its whole minute on
// it. The previous config is restored and runs again.
func TestKeepalivedExitingRightAfterStartFailsWithinTheGrace(t *testing.T) {
	f, a := newFakeHost(t)
	a.ReloadTimeout, a.StartGrace, a.Poll = time.Minute, 300*time.Millisecond, 10*time.Millisecond
	mustApply(t, a, []wire.Object{directorObj(100)})
	before := f.read(KeepalivedConf)
	// keepalived was stopped (by hand, or it died): the apply starts it,
	// and that start dies at once.
	pid, err := a.pid(a.keepalived())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Signal(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	f.dieOnStart["keepalived"] = true
	start := time.Now()
	resp, code := apply(t, a, []wire.Object{vsObj(), rsObj("192.168.0.21")})
	if code != wire.ExitFailed || resp.Error.Step != "start keepalived" || !strings.Contains(resp.Error.Message, "exited within 300ms") {
		t.Fatalf("exit %d, error %+v; want the start failed as exited", code, resp.Error)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("failed after %v: it waited for the reload timeout", d)
	}
	if f.read(KeepalivedConf) != before {
		t.Error("the previous keepalived.conf was not restored")
	}
	obs, code := a.Handle(context.Background(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve})
	if code != wire.ExitOK || !obs.Observed.Keepalived.Running || !obs.Observed.Keepalived.ConfigMatches {
		t.Errorf("after the restore: exit %d, keepalived %+v", code, obs.Observed.Keepalived)
	}
}

func TestIPVSExpectation(t *testing.T) {
	vs := func(addr string, rs ...string) model.VirtualServer {
		v := model.VirtualServer{Address: netip.MustParseAddr(addr), Port: 80}
		for _, r := range rs {
			v.RealServers = append(v.RealServers, model.RealServer{Address: netip.MustParseAddr(r)})
		}
		return v
	}
	cfg := func(vss ...model.VirtualServer) *model.KeepalivedConfig {
		return &model.KeepalivedConfig{VirtualServers: vss}
	}
	svc := func(v model.VirtualServer) ipvs.TableService {
		s, err := ipvs.ServiceOf(&v)
		if err != nil {
			t.Fatal(err)
		}
		ts := ipvs.TableService{Service: kipvs.ServiceExtended{Service: s}}
		for i := range v.RealServers {
			ts.Destinations = append(ts.Destinations, kipvs.DestinationExtended{Destination: ipvs.DestinationOf(&v, &v.RealServers[i])})
		}
		return ts
	}
	old := cfg(vs("10.0.0.1", "192.168.0.1", "192.168.0.2"), vs("10.0.0.2", "192.168.0.3"))
	next := cfg(vs("10.0.0.1", "192.168.0.1", "192.168.0.4"), vs("10.0.0.3", "192.168.0.5"))
	e := newIPVSExpectation(next, old)
	for _, tc := range []struct {
		name    string
		table   ipvs.Table
		missing string // a part of what is missing; "" when ready
	}{
		{"before the reload", ipvs.Table{svc(old.VirtualServers[0]), svc(old.VirtualServers[1])}, "service tcp/10.0.0.2:80 still in the IPVS table"},
		{"new service missing", ipvs.Table{svc(next.VirtualServers[0])}, "service tcp/10.0.0.3:80 not in the IPVS table"},
		{"removed destination still there", ipvs.Table{svc(vs("10.0.0.1", "192.168.0.1", "192.168.0.2", "192.168.0.4")), svc(next.VirtualServers[1])}, "destination 192.168.0.2:80 of tcp/10.0.0.1:80 still in"},
		{"reloaded", ipvs.Table{svc(next.VirtualServers[0]), svc(next.VirtualServers[1])}, ""},
		// Seen once, then taken out by its health check: still done.
		{"new destination down by health since", ipvs.Table{svc(vs("10.0.0.1", "192.168.0.1")), svc(next.VirtualServers[1])}, ""},
	} {
		got := e.check(tc.table, map[string]bool{})
		if tc.name == "new destination down by health since" {
			seen := map[string]bool{}
			e.check(ipvs.Table{svc(next.VirtualServers[0]), svc(next.VirtualServers[1])}, seen)
			got = e.check(tc.table, seen)
		}
		if tc.missing == "" && got != "" || tc.missing != "" && !strings.Contains(got, tc.missing) {
			t.Errorf("%s: missing %q, want %q", tc.name, got, tc.missing)
		}
	}
	// A kept service removed by hand is not waited for (a reload does not
	// put it back); a new one is.
	if got := e.check(ipvs.Table{svc(next.VirtualServers[1])}, map[string]bool{}); got != "" {
		t.Errorf("kept service removed by hand: missing %q, want none", got)
	}
	// Nothing changed: nothing to wait for.
	if !newIPVSExpectation(old, old).empty() {
		t.Error("an unchanged config expects something")
	}
}

// haproxy's master rewrites its pid file when it re-executes on a reload
// (truncate, then write): a read in between finds it empty. The reloaded
// master is still alive then, so the wait for its new worker goes on; it
// used to fail at once ("haproxy pid N exited during reload haproxy"),
// and the undo's reload, signalled while the master was still
// re-executing, was lost: the apply failed, and so did its rollback
// (seen in TestAccInvariant_vm under load).
func TestReloadSurvivesThePidFileRewrite(t *testing.T) {
	f, a := newFakeHost(t)
	a.Poll, a.ReloadTimeout = time.Millisecond, 5*time.Second
	d := a.haproxy(model.DefaultStatsSocket)
	if err := f.start(HAProxyPid, "haproxy", d.startArgs(nil)); err != nil {
		t.Fatal(err)
	}
	pid, err := a.pid(d)
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(f.root, HAProxyPid)
	if err := os.WriteFile(pidFile, nil, 0o644); err != nil { // truncated, not written yet
		t.Fatal(err)
	}
	polls := 0
	ready := func() (bool, string) {
		if polls++; polls == 3 {
			if err := os.WriteFile(pidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return polls > 3, "no new worker yet"
	}
	if werr := a.awaitDaemon(context.Background(), d, d.reloadStep, pid, ready); werr != nil {
		t.Fatalf("the reload failed while the master rewrote its pid file: %v", werr)
	}
	if polls <= 3 {
		t.Errorf("the wait ended after %d polls, before the new worker's evidence", polls)
	}

	// A master that did exit is still reported at once.
	f.mu.Lock()
	delete(f.procs, pid)
	f.mu.Unlock()
	if err := os.WriteFile(pidFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	werr := a.awaitDaemon(context.Background(), d, d.reloadStep, pid, func() (bool, string) { return false, "no new worker yet" })
	if werr == nil || !strings.Contains(werr.Message, "exited during") {
		t.Fatalf("a master gone during its reload: %v, want it named as exited", werr)
	}
}
