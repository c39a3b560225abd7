package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvs/ipvstest"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// nopCloser keeps the fake table across the agent's Open/Close pairs.
type nopCloser struct{ *ipvstest.Fake }

func (nopCloser) Close() error { return nil }

func netlinkHost(t *testing.T) (*fakeHost, *Agent, *ipvstest.Fake) {
	f, a := newFakeHost(t)
	table := ipvstest.New()
	f.checker = table // keepalived, when it runs, programs the same table
	a.IPVS = func() (ipvs.Client, error) { return nopCloser{table}, nil }
	if err := os.MkdirAll(filepath.Join(f.root, "proc/net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.root, "proc/net/ip_vs"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	return f, a, table
}

func netlinkDirector() wire.Object {
	d := directorObj(100)
	d.Director.Engine = "netlink"
	return d
}

func TestNetlinkEngineProgramsIPVSAndLeavesForeignServicesAlone(t *testing.T) {
	f, a, table := netlinkHost(t)
	foreign := model.VirtualServer{Address: vsObj().VirtualServer.Address, Port: 443}
	svc, err := ipvs.ServiceOf(&foreign)
	if err != nil {
		t.Fatal(err)
	}
	table.Seed(svc)

	resp := mustApply(t, a, []wire.Object{netlinkDirector(), vsObj(), rsObj("192.168.0.21"), rsObj("192.168.0.22")})
	if got := len(table.WriteCalls()); got != 3 || resp.Applied.Netlink != 3 {
		t.Errorf("netlink writes %v (reported %d), want create service + 2 destinations", table.WriteCalls(), resp.Applied.Netlink)
	}
	if conf := f.read(KeepalivedConf); strings.Contains(conf, "virtual_server") {
		t.Errorf("a netlink-engine director's keepalived.conf has virtual servers:\n%s", conf)
	}
	var ours, theirs int
	for _, s := range resp.Observed.IPVS {
		if s.Ours {
			ours++
			if len(s.Destinations) != 2 {
				t.Errorf("observed %s with destinations %v", s.Service.Key(), s.Destinations)
			}
		} else {
			theirs++
		}
	}
	if ours != 1 || theirs != 1 {
		t.Errorf("observed %d ours and %d foreign services, want 1 and 1", ours, theirs)
	}

	// Unchanged: no netlink request.
	before := len(table.WriteCalls())
	if resp := mustApply(t, a, []wire.Object{vsObj()}); resp.Applied.Netlink != 0 || len(table.WriteCalls()) != before {
		t.Errorf("unchanged apply made netlink requests: %v", table.WriteCalls()[before:])
	}

	// Deleting the virtual server removes it (one request), not the foreign one.
	mustApply(t, a, nil, rsObj("192.168.0.21").Key, rsObj("192.168.0.22").Key, vsObj().Key)
	left, err := ipvs.Read(table)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || ipvs.ServiceKey(left[0].Service.Service) != foreign.Key() {
		t.Errorf("table after delete: %v, want only the foreign %s", left, foreign.Key())
	}
}

func TestNetlinkEngineRefusesAForeignServiceItWouldManage(t *testing.T) {
	_, a, table := netlinkHost(t)
	vs := vsObj()
	svc, err := ipvs.ServiceOf(vs.VirtualServer)
	if err != nil {
		t.Fatal(err)
	}
	table.Seed(svc)
	resp, code := apply(t, a, []wire.Object{netlinkDirector(), vs})
	if code != wire.ExitForeign || resp.Error.Step != "program IPVS" {
		t.Fatalf("exit %d, error %+v; want ExitForeign", code, resp.Error)
	}
	if n := len(table.WriteCalls()); n != 0 {
		t.Errorf("%d netlink writes for a refused apply", n)
	}
}

func TestNetlinkEngineWithoutIPVSIsUnsupported(t *testing.T) {
	_, a := newFakeHost(t)
	a.IPVS = func() (ipvs.Client, error) { return nil, ipvs.ErrNoIPVS }
	resp, code := apply(t, a, []wire.Object{netlinkDirector(), vsObj()})
	if code != wire.ExitUnsupported || !strings.Contains(resp.Error.Message, "no IPVS") {
		t.Fatalf("exit %d, error %+v; want ExitUnsupported", code, resp.Error)
	}
}

func TestNetlinkChangesAreUndoneWhenALaterStepFails(t *testing.T) {
	f, a, table := netlinkHost(t)
	mustApply(t, a, append([]wire.Object{netlinkDirector()}, haproxyObjs(80)...))
	f.dieOnSignal["haproxy"] = true
	put := append([]wire.Object{vsObj(), rsObj("192.168.0.21")}, haproxyObjs(81)...)
	if resp, code := apply(t, a, put); code != wire.ExitFailed || resp.Error.Step != "reload haproxy" {
		t.Fatalf("exit %d, error %+v", code, resp.Error)
	}
	left, err := ipvs.Read(table)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("IPVS table after the failed apply: %v, want empty again", left)
	}
	if _, err := os.Stat(filepath.Join(f.root, ipvsOwnedFile)); err == nil {
		t.Error("the owned-services record outlived the undone apply")
	}
}

func TestImportReadsHandBuiltServicesWithoutChangingThem(t *testing.T) {
	_, a, table := netlinkHost(t)
	vs := vsObj().VirtualServer
	rs := rsObj("192.168.0.21").RealServer
	svc, err := ipvs.ServiceOf(vs)
	if err != nil {
		t.Fatal(err)
	}
	table.Seed(svc, ipvs.DestinationOf(vs, rs))
	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitOK {
		t.Fatalf("import: exit %d: %v", code, resp.Error)
	}
	var keys []string
	for _, o := range resp.Imported {
		keys = append(keys, o.Key.String())
	}
	want := []string{"virtual_server tcp/192.168.0.10:80", "real_server tcp/192.168.0.10:80/192.168.0.21:80"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("imported %q, want %q", keys, want)
	}
	if n := len(table.WriteCalls()); n != 0 {
		t.Errorf("import made %d netlink writes", n)
	}
	// Putting the imported objects back under a netlink director adopts
	// them: the agent owns them from then on, without recreating them.
	put := append([]wire.Object{netlinkDirector()}, resp.Imported...)
	if _, code := apply(t, a, put); code != wire.ExitForeign {
		t.Errorf("putting imported objects without adopting them: exit %d, want ExitForeign", code)
	}
	var adopt []wire.Key
	for _, o := range resp.Imported {
		adopt = append(adopt, o.Key)
	}
	resp, code = a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbApply, Put: put, Adopt: adopt})
	if code != wire.ExitOK {
		t.Fatalf("adopting: exit %d: %v", code, resp.Error)
	}
	if n := len(table.WriteCalls()); n != 0 {
		t.Errorf("adopting an identical service made %d netlink writes: %v", n, table.WriteCalls())
	}
	if ours := resp.Observed.IPVS; len(ours) != 1 || !ours[0].Ours {
		t.Errorf("observed after adoption: %+v", ours)
	}
}

func TestRestoreRebuildsFromStoredObjects(t *testing.T) {
	f, a := newFakeHost(t)
	mustApply(t, a, []wire.Object{directorObj(100), vsObj(), rsObj("192.168.0.21")})
	// A reboot: runtime sysctls back to the kernel's defaults, no daemons.
	if _, err := a.Sysctl.Set("net.ipv4.conf.all.send_redirects", "1"); err != nil {
		t.Fatal(err)
	}
	f.procs = map[int][]string{}
	f.take()
	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbRestore})
	if code != wire.ExitOK {
		t.Fatalf("restore: exit %d: %v", code, resp.Error)
	}
	if f.sysctl("net.ipv4.conf.all.send_redirects") != "0" {
		t.Error("restore did not set the sysctl again")
	}
	if !resp.Observed.Keepalived.Running || resp.Applied.Reloads["keepalived"] != 1 {
		t.Errorf("restore: keepalived %+v, reloads %v", resp.Observed.Keepalived, resp.Applied.Reloads)
	}
}
