package agent

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/nftmark"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// fakeMarks is an in-memory nftables table; it counts replaces and can
// be told to fail one.
type fakeMarks struct {
	present  bool
	rules    []model.FwmarkRule
	foreign  int
	replaces int
	failNext error
}

func (f *fakeMarks) List() (nftmark.State, error) {
	st := nftmark.State{Present: f.present, Foreign: f.foreign}
	for _, r := range f.rules {
		st.Rules = append(st.Rules, nftmark.Rule{FwmarkRule: r})
	}
	return st, nil
}

func (f *fakeMarks) Replace(rules []model.FwmarkRule) (bool, error) {
	if err := f.failNext; err != nil {
		f.failNext = nil
		return false, err
	}
	if f.present == (len(rules) > 0) && f.foreign == 0 && model.SameFwmarkRules(f.rules, rules) {
		return false, nil
	}
	f.replaces++
	f.present, f.rules, f.foreign = len(rules) > 0, append([]model.FwmarkRule(nil), rules...), 0
	return true, nil
}

func (f *fakeMarks) Close() error { return nil }

func fwmarkVSObj() wire.Object {
	vs := &model.VirtualServer{Fwmark: 7, ForwardingMethod: "dr", FwmarkMatches: []model.FwmarkMatch{{
		Protocol: "tcp", Destinations: []netip.Prefix{netip.MustParsePrefix("192.168.0.10/32")}, Ports: []int{80, 443},
	}}}
	return wire.Object{Key: wire.Key{Kind: wire.KindVirtualServer, ID: vs.Key()}, VirtualServer: vs}
}

func fwmarkRSObj(addr string) wire.Object {
	rs := &model.RealServer{Address: netip.MustParseAddr(addr), TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectPort: 80}}}
	return wire.Object{Key: wire.Key{Kind: wire.KindRealServer, ID: "fwmark/7/" + addr + ":0"}, RealServer: rs}
}

func TestFwmarksProgrammedRepairedAndRemoved(t *testing.T) {
	for _, engine := range []string{"keepalived", "netlink"} {
		t.Run(engine, func(t *testing.T) {
			f, a, _ := netlinkHost(t)
			marks := &fakeMarks{}
			a.Marks = func() (Marks, error) { return marks, nil }
			dir := directorObj(100)
			dir.Director.Engine = engine
			objs := []wire.Object{dir, fwmarkVSObj(), fwmarkRSObj("192.168.0.21")}
			resp := mustApply(t, a, objs)
			if len(marks.rules) != 2 || marks.rules[0].Mark != 7 || marks.rules[0].Port != 80 || marks.rules[1].Port != 443 {
				t.Fatalf("rules programmed: %v", marks.rules)
			}
			if fw := resp.Observed.Fwmarks; fw == nil || !fw.Present || len(fw.MarkRules(7)) != 2 {
				t.Fatalf("observed %+v", fw)
			}
			if _, err := os.Stat(filepath.Join(f.root, fwmarksFile)); err != nil {
				t.Fatal(err)
			}
			// A rule deleted by hand shows, and the next apply (a restore too) puts it back.
			marks.rules = marks.rules[:1]
			obs, werr := a.observeLocked(t.Context(), &wire.Request{})
			if werr != nil {
				t.Fatal(werr)
			}
			if got := obs.Fwmarks.MarkRules(7); len(got) != 1 {
				t.Fatalf("observed after the hand edit: %v", got)
			}
			if resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbRestore}); code != wire.ExitOK {
				t.Fatalf("restore: %v", resp.Error)
			}
			if len(marks.rules) != 2 {
				t.Fatalf("the restore did not put the rule back: %v", marks.rules)
			}
			if !needsBootHook(mustCompose(t, objs), true) {
				t.Error("marks need the boot hook")
			}
			// A config its tool refuses touches no mark.
			before := marks.replaces
			moved := fwmarkVSObj()
			moved.VirtualServer.FwmarkMatches[0].Ports = []int{8080}
			moved.VirtualServer.Scheduler = "rr" // keepalived.conf changes too
			f.testFail["keepalived"] = "bad config"
			if _, code := apply(t, a, []wire.Object{moved}); code == wire.ExitOK && engine == "keepalived" {
				t.Fatal("the apply should have failed at keepalived -t")
			}
			if engine == "keepalived" && (len(marks.rules) != 2 || marks.rules[0].Port != 80 || marks.replaces != before) {
				t.Errorf("a refused apply changed the marks: %v (%d replaces)", marks.rules, marks.replaces-before)
			}
			delete(f.testFail, "keepalived")
			// A refused replace is an error naming the table.
			marks.failNext = errors.New("EPERM")
			moved.VirtualServer.FwmarkMatches[0].Ports = []int{8081}
			if resp, code := apply(t, a, []wire.Object{moved}); code == wire.ExitOK || resp.Error.Object != "nftables table inet lvs_agent" || resp.Error.Step != "program firewall marks" {
				t.Fatalf("a failed replace: exit %d, %+v", code, resp.Error)
			}
			// Deleting the service deletes the table and the record.
			mustApply(t, a, nil, fwmarkRSObj("192.168.0.21").Key, fwmarkVSObj().Key)
			if marks.present || len(marks.rules) != 0 {
				t.Fatalf("the table stays: %v", marks.rules)
			}
			if _, err := os.Stat(filepath.Join(f.root, fwmarksFile)); !os.IsNotExist(err) {
				t.Fatalf("the record stays: %v", err)
			}
			n := marks.replaces
			if resp := mustApply(t, a, nil); resp.Observed.Fwmarks != nil || marks.replaces != n {
				t.Errorf("a host without marks still reads or writes the table: %+v", resp.Observed.Fwmarks)
			}
		})
	}
}

func mustCompose(t *testing.T, objs []wire.Object) *hostConfig {
	t.Helper()
	m := map[wire.Key]wire.Object{}
	for _, o := range objs {
		m[o.Key] = o
	}
	hc, werr := compose(m)
	if werr != nil {
		t.Fatal(werr)
	}
	return hc
}
