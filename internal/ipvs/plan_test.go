package ipvs_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/ipvs"

	lvsipvs "github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvs/ipvstest"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// ownedBy returns an owned function for the given services (taken before a
// test shrinks its desired list, they stay ours).
func ownedBy(desired []model.VirtualServer) func(string) bool {
	keys := map[string]bool{}
	for _, vs := range desired {
		keys[vs.Key()] = true
	}
	return func(k string) bool { return keys[k] }
}

// reconcile reads the fake, plans, applies, and returns the writes made.
func reconcile(t *testing.T, f *ipvstest.Fake, desired []model.VirtualServer, owned func(string) bool) []ipvstest.Call {
	t.Helper()
	f.ResetCalls()
	table, err := lvsipvs.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := lvsipvs.Plan(desired, table, owned)
	if err != nil {
		t.Fatal(err)
	}
	n, err := lvsipvs.Apply(f, ops)
	if err != nil || n != len(ops) {
		t.Fatalf("Apply: %d of %d ops: %v", n, len(ops), err)
	}
	return f.WriteCalls()
}

// converged checks that the fake holds exactly the desired services: a
// second plan is empty and the table reads back as the desired kernel
// entries.
func converged(t *testing.T, f *ipvstest.Fake, desired []model.VirtualServer, owned func(string) bool) {
	t.Helper()
	table, err := lvsipvs.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := lvsipvs.Plan(desired, table, owned)
	if err != nil || len(ops) != 0 {
		t.Fatalf("second plan: %v %v, want no ops", ops, err)
	}
	// The kernel's destination order carries no meaning: compare by key.
	got := map[string]map[string]ipvs.Destination{}
	for _, ts := range table {
		dests := map[string]ipvs.Destination{}
		for _, d := range ts.Destinations {
			dests[lvsipvs.DestinationKey(d.Destination)] = d.Destination
		}
		got[lvsipvs.ServiceKey(ts.Service.Service)] = dests
	}
	for _, vs := range desired {
		_, dests := kernel(t, vs)
		want := map[string]ipvs.Destination{}
		for _, d := range dests {
			want[lvsipvs.DestinationKey(d)] = d
		}
		if !reflect.DeepEqual(got[vs.Key()], want) {
			t.Errorf("%s in the table: %+v, want %+v", vs.Key(), got[vs.Key()], want)
		}
	}
}

func TestPlanCreatesEverythingThenNothing(t *testing.T) {
	f := ipvstest.New()
	desired := variety()
	owned := ownedBy(desired)
	writes := reconcile(t, f, desired, owned)
	want := 0
	for _, vs := range desired {
		want += 1 + len(vs.RealServers)
	}
	if len(writes) != want {
		t.Errorf("first apply: %d writes, want %d: %q", len(writes), want, methods(writes))
	}
	converged(t, f, desired, owned)
	checkCalls(t, reconcile(t, f, desired, owned)) // identical: zero writes
}

func TestPlanMinimalChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(vs *model.VirtualServer)
		want   []string
	}{
		{"weight", func(vs *model.VirtualServer) { vs.RealServers[1].Weight = weight(0) },
			[]string{"UpdateDestination 192.168.1.22:8080 of tcp/10.0.0.10:80"}},
		{"threshold", func(vs *model.VirtualServer) { vs.RealServers[1].UpperThreshold = 200 },
			[]string{"UpdateDestination 192.168.1.22:8080 of tcp/10.0.0.10:80"}},
		{"method", func(vs *model.VirtualServer) { vs.RealServers[0].ForwardingMethod = "dr" },
			[]string{"UpdateDestination 192.168.1.21:80 of tcp/10.0.0.10:80"}},
		{"add real server", func(vs *model.VirtualServer) {
			vs.RealServers = append(vs.RealServers, model.RealServer{Address: ip("192.168.1.23")})
		}, []string{"CreateDestination 192.168.1.23:80 of tcp/10.0.0.10:80"}},
		{"remove real server", func(vs *model.VirtualServer) { vs.RealServers = vs.RealServers[1:] },
			[]string{"RemoveDestination 192.168.1.21:80 of tcp/10.0.0.10:80"}},
		{"replace real server", func(vs *model.VirtualServer) { vs.RealServers[0].Address = ip("192.168.1.29") },
			[]string{"RemoveDestination 192.168.1.21:80 of tcp/10.0.0.10:80", "CreateDestination 192.168.1.29:80 of tcp/10.0.0.10:80"}},
		{"scheduler", func(vs *model.VirtualServer) { vs.Scheduler = "lc" },
			[]string{"UpdateService tcp/10.0.0.10:80"}},
		{"persistence", func(vs *model.VirtualServer) { vs.PersistenceTimeout, vs.PersistenceGranularity = 300, 24 },
			[]string{"UpdateService tcp/10.0.0.10:80"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ipvstest.New()
			desired := variety()
			owned := ownedBy(desired)
			reconcile(t, f, desired, owned)
			tt.change(&desired[0])
			if err := desired[0].Validate(nil); err != nil {
				t.Fatal(err)
			}
			checkCalls(t, reconcile(t, f, desired, owned), tt.want...)
			converged(t, f, desired, owned)
		})
	}
}

func TestPlanRemovesOurServiceInOneRequest(t *testing.T) {
	f := ipvstest.New()
	desired := variety()
	owned := ownedBy(desired)
	reconcile(t, f, desired, owned)
	gone := desired[4].Key() // three destinations
	desired = append(desired[:4], desired[5:]...)
	checkCalls(t, reconcile(t, f, desired, owned), "RemoveService "+gone)
	converged(t, f, desired, owned)
}

func TestPlanLeavesForeignServicesAlone(t *testing.T) {
	f := ipvstest.New()
	foreign, foreignDests := kernel(t, model.VirtualServer{
		Address: ip("10.9.9.9"), Port: 25, RealServers: []model.RealServer{{Address: ip("192.168.9.1")}},
	})
	f.Seed(foreign, foreignDests...)
	desired := []model.VirtualServer{web()}
	owned := ownedBy(desired)
	checkCalls(t, reconcile(t, f, desired, owned),
		"CreateService tcp/10.0.0.10:80",
		"CreateDestination 192.168.1.21:80 of tcp/10.0.0.10:80",
		"CreateDestination 192.168.1.22:8080 of tcp/10.0.0.10:80")
	// Removing everything we own still leaves the foreign service.
	checkCalls(t, reconcile(t, f, nil, owned), "RemoveService tcp/10.0.0.10:80")
	table, err := lvsipvs.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(table) != 1 || lvsipvs.ServiceKey(table[0].Service.Service) != "tcp/10.9.9.9:25" || len(table[0].Destinations) != 1 {
		t.Errorf("foreign service changed: %+v", table)
	}
}

func TestPlanRefusesToTakeOverForeignService(t *testing.T) {
	f := ipvstest.New()
	foreign, dests := kernel(t, web())
	f.Seed(foreign, dests...)
	table, err := lvsipvs.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := lvsipvs.Plan([]model.VirtualServer{web()}, table, func(string) bool { return false })
	if !errors.Is(err, lvsipvs.ErrForeign) || ops != nil {
		t.Fatalf("Plan over a foreign service: ops %v, err %v; want ErrForeign", ops, err)
	}
	if want := "virtual server tcp/10.0.0.10:80"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
}

func TestPlanRefusesDuplicates(t *testing.T) {
	if _, err := lvsipvs.Plan([]model.VirtualServer{web(), web()}, nil, ownedBy(nil)); err == nil {
		t.Fatal("Plan accepted the same virtual server twice")
	}
}

func TestApplyUndoesOnFailure(t *testing.T) {
	f := ipvstest.New()
	boom := errors.New("boom")
	f.FailNext("CreateDestination", boom)
	desired := []model.VirtualServer{web()}
	ops, err := lvsipvs.Plan(desired, nil, ownedBy(desired))
	if err != nil {
		t.Fatal(err)
	}
	n, err := lvsipvs.Apply(f, ops)
	if n != 1 || !errors.Is(err, boom) || !strings.Contains(err.Error(), "create destination 192.168.1.21:80 of tcp/10.0.0.10:80") {
		t.Fatalf("Apply = %d, %v; want 1 done and the failed op named", n, err)
	}
	checkCalls(t, f.WriteCalls(),
		"CreateService tcp/10.0.0.10:80",
		"CreateDestination 192.168.1.21:80 of tcp/10.0.0.10:80",
		"RemoveService tcp/10.0.0.10:80") // the undo
}

// TestApplyUndoRestoresTheTable makes every kind of change, fails the last
// request, and checks the table is back as it was.
func TestApplyUndoRestoresTheTable(t *testing.T) {
	f := ipvstest.New()
	desired := variety()
	owned := ownedBy(desired)
	reconcile(t, f, desired, owned)
	before, err := lvsipvs.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	desired[0].Scheduler = "lc"                         // update service
	desired[0].RealServers[0].Weight = weight(9)        // update destination
	desired[0].RealServers = desired[0].RealServers[:1] // remove destination
	desired = slices.Delete(desired, 4, 5)              // remove a service with three destinations
	desired = append(desired, model.VirtualServer{      // create a service
		Address: ip("10.0.0.99"), Port: 80, RealServers: []model.RealServer{{Address: ip("192.168.1.99")}},
	})
	desired[1].RealServers = append(desired[1].RealServers, model.RealServer{Address: ip("2001:db8::23")}) // create destination
	ops, err := lvsipvs.Plan(desired, before, owned)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[lvsipvs.OpKind]bool{}
	for _, op := range ops {
		kinds[op.Kind] = true
	}
	if len(kinds) != 6 {
		t.Fatalf("the plan covers %d kinds of request, want all 6: %v", len(kinds), ops)
	}
	last := ops[len(ops)-1]
	if last.Kind != lvsipvs.CreateDestination {
		t.Fatalf("the last request is %s, want a destination creation", last)
	}
	f.FailNext("CreateDestination "+lvsipvs.DestinationKey(last.Destination)+" of "+lvsipvs.ServiceKey(last.Service), errors.New("boom"))
	f.ResetCalls()
	if n, err := lvsipvs.Apply(f, ops); err == nil || n != len(ops)-1 {
		t.Fatalf("Apply = %d, %v; want the last request to fail", n, err)
	}
	after, err := lvsipvs.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tableSet(before), tableSet(after)) {
		t.Errorf("table after the undo differs:\nbefore %v\nafter  %v", tableSet(before), tableSet(after))
	}
}

// tableSet is a table without order: service key to service and
// destinations by key.
func tableSet(t lvsipvs.Table) map[string]any {
	out := map[string]any{}
	for _, ts := range t {
		dests := map[string]ipvs.Destination{}
		for _, d := range ts.Destinations {
			dests[lvsipvs.DestinationKey(d.Destination)] = d.Destination
		}
		out[lvsipvs.ServiceKey(ts.Service.Service)] = []any{ts.Service.Service, dests}
	}
	return out
}

func TestObserve(t *testing.T) {
	f := ipvstest.New()
	desired := variety()[:2]
	foreign, foreignDests := kernel(t, model.VirtualServer{Fwmark: 9, RealServers: []model.RealServer{{Address: ip("192.168.9.1")}}})
	f.Seed(foreign, foreignDests...)
	reconcile(t, f, desired, ownedBy(desired))
	svc, dests := kernel(t, desired[0])
	if err := f.SetCounters(svc, dests[1], 7, 3, 1); err != nil {
		t.Fatal(err)
	}
	table, err := lvsipvs.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	obs := lvsipvs.Observe(table, ownedBy(desired))
	if len(obs) != 3 {
		t.Fatalf("observed %d services, want 3", len(obs))
	}
	byKey := map[string]int{}
	for i, o := range obs {
		byKey[o.Service.Key()] = i
	}
	o := obs[byKey["tcp/10.0.0.10:80"]]
	if !o.Ours || len(o.Destinations) != 2 {
		t.Fatalf("web observed as %+v", o)
	}
	d := o.Destinations[1]
	if d.Key != "192.168.1.22:8080" || d.Weight != 1 || d.ActiveConns != 7 || d.InactiveConns != 3 || d.PersistConns != 1 {
		t.Errorf("destination counters: %+v", d)
	}
	if o.Service.Scheduler != "wrr" || o.Service.ForwardingMethod != "nat" || *o.Service.RealServers[0].Weight != 3 ||
		o.Service.RealServers[1].UpperThreshold != 100 {
		t.Errorf("web read back as %+v", o.Service)
	}
	if f := obs[byKey["fwmark/9"]]; f.Ours || f.Service.Family != "inet" {
		t.Errorf("foreign fwmark service observed as %+v", f)
	}
	if v6 := obs[byKey["tcp/[2001:db8::10]:443"]]; !v6.Ours || v6.Service.PersistenceGranularity != 64 {
		t.Errorf("IPv6 service observed as %+v", v6.Service)
	}
}
