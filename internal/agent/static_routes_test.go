package agent

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// fakeRouting is an in-memory kernel routing table and rule list, in the
// kernel's terms (main is table 254); it records what was added.
type fakeRouting struct {
	routes []model.Route
	rules  []model.Rule
	added  []string
	// listErr, when set, fails every listing.
	listErr error
}

func (f *fakeRouting) Routes(v6 bool) ([]model.Route, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []model.Route
	for _, r := range f.routes {
		if r.IsV6() == v6 {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeRouting) Rules(v6 bool) ([]model.Rule, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []model.Rule
	for _, r := range f.rules {
		if r.IsV6() == v6 {
			out = append(out, r)
		}
	}
	return out, nil
}

func kernelForm(r model.Route) model.Route {
	if r.Table == 0 {
		r.Table = model.MainTable
	}
	return r
}

func (f *fakeRouting) AddRoute(r model.Route) error {
	k := kernelForm(r)
	f.added = append(f.added, "route "+r.To.String())
	f.routes = slices.DeleteFunc(f.routes, func(have model.Route) bool { return model.RouteAt(&r, &have) })
	f.routes = append(f.routes, k)
	return nil
}

func (f *fakeRouting) DeleteRoute(r model.Route) error {
	f.routes = slices.DeleteFunc(f.routes, func(have model.Route) bool { return model.RouteAt(&r, &have) })
	return nil
}

func (f *fakeRouting) AddRule(r model.Rule) error {
	f.added = append(f.added, "rule "+r.From.String())
	f.rules = append(f.rules, r)
	return nil
}

func (f *fakeRouting) DeleteRule(r model.Rule) error {
	f.rules = slices.DeleteFunc(f.rules, func(have model.Rule) bool { return model.RuleHeld(&r, &have) })
	return nil
}

func (f *fakeRouting) Close() error { return nil }

func routedDirector() wire.Object {
	o := directorObj(100)
	o.Director.StaticRoutes = []model.Route{
		{To: netip.MustParsePrefix("10.20.0.0/16"), Via: netip.MustParseAddr("192.168.0.1"), Device: "eth0", Table: 100},
		{To: netip.MustParsePrefix("10.21.0.0/16"), Type: "blackhole"},
	}
	o.Director.StaticRules = []model.Rule{{From: netip.MustParsePrefix("192.168.0.0/24"), Table: 100, Priority: 1000}}
	return o
}

// TestStaticRoutesObservedAndRestored: observe reports the kernel's
// routes and rules at the places of the director's static ones only; a
// route and a rule deleted by hand are gone from the observation, and an
// apply of the unchanged director (keepalived not reloaded: it would not
// put them back) re-adds them; a failed read is a failed section, never
// an empty one.
func TestStaticRoutesObservedAndRestored(t *testing.T) {
	f, a := newFakeHost(t)
	unrelated := model.Route{To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("192.168.0.1"), Device: "eth0", Table: model.MainTable}
	otherRule := model.Rule{From: netip.MustParsePrefix("0.0.0.0/0"), Table: model.MainTable, Priority: 32766}
	// As keepalived installed them at its start (the fake's keepalived
	// installs nothing itself).
	dir := routedDirector()
	fr := &fakeRouting{routes: []model.Route{unrelated, kernelForm(dir.Director.StaticRoutes[0]), kernelForm(dir.Director.StaticRoutes[1])},
		rules: []model.Rule{otherRule, dir.Director.StaticRules[0]}}
	a.Routing = func() (Routing, error) { return fr, nil }

	resp := mustApply(t, a, []wire.Object{dir})
	if len(fr.added) != 0 {
		t.Errorf("added %v where keepalived holds every route and rule", fr.added)
	}
	if got := resp.Observed.Routes; len(got) != 2 || slices.ContainsFunc(got, func(r model.Route) bool { return r.To == unrelated.To }) {
		t.Errorf("observed routes %+v; want the two static ones only", got)
	}
	if got := resp.Observed.Rules; len(got) != 1 || got[0] != dir.Director.StaticRules[0] {
		t.Errorf("observed rules %+v; want the static one only", got)
	}
	if resp.Observed.Errors[wire.ObserveRoutes] != "" {
		t.Errorf("observe errors %v", resp.Observed.Errors)
	}

	// Deleted by hand.
	fr.routes = slices.DeleteFunc(fr.routes, func(r model.Route) bool { return r.To == dir.Director.StaticRoutes[0].To })
	fr.rules = fr.rules[:1]
	obs, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve})
	if code != wire.ExitOK {
		t.Fatalf("observe: exit %d %v", code, obs.Error)
	}
	if got := obs.Observed.Routes; len(got) != 1 || got[0].To != dir.Director.StaticRoutes[1].To {
		t.Errorf("after the deletion observed routes %+v; want the blackhole only", got)
	}
	if got := obs.Observed.Rules; len(got) != 0 {
		t.Errorf("after the deletion observed rules %+v; want none", got)
	}

	// The unchanged director's apply puts them back, keepalived untouched.
	f.calls = nil
	resp = mustApply(t, a, []wire.Object{routedDirector()})
	if resp.Applied.Reloads["keepalived"] != 0 {
		t.Errorf("keepalived reloaded %d times", resp.Applied.Reloads["keepalived"])
	}
	if want := []string{"route 10.20.0.0/16", "rule 192.168.0.0/24"}; !slices.Equal(fr.added, want) || resp.Applied.Netlink < 2 {
		t.Errorf("added %v (netlink ops %d), want %v", fr.added, resp.Applied.Netlink, want)
	}
	if missing := model.MissingRoutes(dir.Director.StaticRoutes, resp.Observed.Routes); len(missing) > 0 {
		t.Errorf("after the apply %+v still missing from %+v", missing, resp.Observed.Routes)
	}
	if missing := model.MissingRules(dir.Director.StaticRules, resp.Observed.Rules); len(missing) > 0 {
		t.Errorf("after the apply %+v still missing", missing)
	}

	// A read that fails is unknown.
	fr.listErr = errors.New("netlink: dump interrupted five times")
	obs, code = a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbObserve})
	if code != wire.ExitOK {
		t.Fatalf("observe: exit %d %v", code, obs.Error)
	}
	if msg := obs.Observed.Errors[wire.ObserveRoutes]; !strings.Contains(msg, "dump interrupted") || obs.Observed.Routes != nil {
		t.Errorf("a failed read: errors %v, routes %+v; want the routes section failed", obs.Observed.Errors, obs.Observed.Routes)
	}
	if obs.Observed.Err() == nil {
		t.Error("Observed.Err() is nil with the routes section failed")
	}

	// A host without static routes never opens the routing table.
	fr.listErr = nil
	a.Routing = func() (Routing, error) {
		t.Error("the routing table was opened for a director without static routes")
		return fr, nil
	}
	mustApply(t, a, []wire.Object{directorObj(100)})
}
