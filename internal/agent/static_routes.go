package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// A director's static routes and rules (static_routes, static_rules) are
// keepalived's: it installs them, with protocol keepalived, when it starts,
// and removes them when it stops. It never installs them again while it
// runs: one deleted by hand (ip route del, ip rule del) stays gone, and a
// reload does not bring it back either (keepalived compares the new
// configuration with the old one, in which the route is still "set"). So
// observe reads them back, and an apply that leaves keepalived running
// the director's configuration puts the missing ones back itself, as
// keepalived would have installed them (protocol keepalived, so that
// keepalived still removes them when it stops).

// reloadRouteWait bounds how long, after a reload, the agent waits for
// keepalived to install the static routes it lacks before adding them.
const reloadRouteWait = 2 * time.Second

// Routing reads and changes the kernel's routes and policy routing rules;
// *hostaddr.Manager implements it.
type Routing interface {
	// Routes and Rules list the kernel's routes (every table) and rules
	// of the family of v6.
	Routes(v6 bool) ([]model.Route, error)
	Rules(v6 bool) ([]model.Rule, error)
	// AddRoute installs a route as keepalived does, replacing one at its
	// place; DeleteRoute removes the keepalived route at a route's place.
	AddRoute(r model.Route) error
	DeleteRoute(r model.Route) error
	// AddRule installs a rule as keepalived does (the same rule there is
	// no error); DeleteRule removes it (none there is no error).
	AddRule(r model.Rule) error
	DeleteRule(r model.Rule) error
	Close() error
}

// kernelRouting is what the kernel holds of the families a director's
// static routes and rules use, listed once per family.
type kernelRouting struct {
	r      Routing
	routes map[bool][]model.Route
	rules  map[bool][]model.Rule
}

func (k *kernelRouting) routesOf(v6 bool) ([]model.Route, error) {
	if got, ok := k.routes[v6]; ok {
		return got, nil
	}
	got, err := k.r.Routes(v6)
	if err != nil {
		return nil, err
	}
	k.routes[v6] = got
	return got, nil
}

func (k *kernelRouting) rulesOf(v6 bool) ([]model.Rule, error) {
	if got, ok := k.rules[v6]; ok {
		return got, nil
	}
	got, err := k.r.Rules(v6)
	if err != nil {
		return nil, err
	}
	k.rules[v6] = got
	return got, nil
}

// routesAt are the kernel routes standing where one of want goes
// (model.RouteAt), in kernel order.
func (k *kernelRouting) routesAt(want []model.Route) ([]model.Route, error) {
	var out []model.Route
	for _, v6 := range []bool{false, true} {
		need := false
		for i := range want {
			need = need || want[i].IsV6() == v6
		}
		if !need {
			continue
		}
		have, err := k.routesOf(v6)
		if err != nil {
			return nil, err
		}
		for j := range have {
			for i := range want {
				if model.RouteAt(&want[i], &have[j]) {
					out = append(out, have[j])
					break
				}
			}
		}
	}
	return out, nil
}

// rulesAt are the kernel rules at the preference of one of want, of its
// family (model.RuleAt).
func (k *kernelRouting) rulesAt(want []model.Rule) ([]model.Rule, error) {
	var out []model.Rule
	for _, v6 := range []bool{false, true} {
		need := false
		for i := range want {
			need = need || want[i].IsV6() == v6
		}
		if !need {
			continue
		}
		have, err := k.rulesOf(v6)
		if err != nil {
			return nil, err
		}
		for j := range have {
			for i := range want {
				if model.RuleAt(&want[i], &have[j]) {
					out = append(out, have[j])
					break
				}
			}
		}
	}
	return out, nil
}

func (a *Agent) openRouting() (*kernelRouting, error) {
	if a.Routing == nil {
		return nil, errors.New("this agent cannot read routes")
	}
	r, err := a.Routing()
	if err != nil {
		return nil, err
	}
	return &kernelRouting{r: r, routes: map[bool][]model.Route{}, rules: map[bool][]model.Rule{}}, nil
}

// staticRouting is the director's static routes and rules (none off a
// director).
func staticRouting(hc *hostConfig) ([]model.Route, []model.Rule) {
	if hc.keepalived == nil {
		return nil, nil
	}
	return hc.keepalived.Director.StaticRoutes, hc.keepalived.Director.StaticRules
}

// observeRoutes reads back the kernel's routes and rules at the places of
// the director's static ones; nothing on a host without any. A failed
// read is an error (the section is unknown), never an empty list.
func (a *Agent) observeRoutes(hc *hostConfig) ([]model.Route, []model.Rule, error) {
	routes, rules := staticRouting(hc)
	if len(routes) == 0 && len(rules) == 0 {
		return nil, nil, nil
	}
	k, err := a.openRouting()
	if err != nil {
		return nil, nil, fmt.Errorf("opening the host's routes: %w", err)
	}
	defer k.r.Close()
	gotRoutes, err := k.routesAt(routes)
	if err != nil {
		return nil, nil, err
	}
	gotRules, err := k.rulesAt(rules)
	if err != nil {
		return nil, nil, err
	}
	return gotRoutes, gotRules, nil
}

// keepStaticRoutes puts back the director's static routes and rules the
// kernel lacks, when the apply leaves keepalived running the director's
// configuration (unchanged, or just installed: a reload does not restore
// an unchanged route deleted by hand, and a start installs them all, so
// that then nothing is missing). A route replaced by hand at a static
// route's place is replaced back. Undo removes what it added and puts
// back what it replaced.
func (a *Agent) keepStaticRoutes(ctx context.Context, hc *hostConfig, ka *daemon, tx *txn, rep *wire.ApplyReport) *wire.Error {
	routes, rules := staticRouting(hc)
	if len(routes) == 0 && len(rules) == 0 || ka == nil || (ka.action != actEnsure && ka.action != actInstall) {
		return nil
	}
	if running, _ := a.running(ctx, ka, ka.want); !running {
		return nil
	}
	const step = "restore static routes"
	k, err := a.openRouting()
	if err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "director", Message: err.Error()}
	}
	defer k.r.Close()
	var undo []func(Routing) error
	tx.add(func() error {
		if len(undo) == 0 {
			return nil
		}
		r, err := a.Routing()
		if err != nil {
			return err
		}
		defer r.Close()
		var errs []error
		for i := len(undo) - 1; i >= 0; i-- {
			errs = append(errs, undo[i](r))
		}
		return errors.Join(errs...)
	})
	have, err := k.routesAt(routes)
	if err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "director", Message: err.Error()}
	}
	if ka.action == actInstall && len(model.MissingRoutes(routes, have)) > 0 {
		// keepalived's reload installs the routes it did not hold (an
		// unchanged one deleted by hand among them); one the agent added
		// first would make keepalived's own add fail, and keepalived
		// would then not remove the route when it stops. Give it a moment.
		for deadline := time.Now().Add(reloadRouteWait); time.Now().Before(deadline); time.Sleep(a.poll()) {
			fresh := &kernelRouting{r: k.r, routes: map[bool][]model.Route{}, rules: map[bool][]model.Rule{}}
			if have, err = fresh.routesAt(routes); err != nil {
				return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "director", Message: err.Error()}
			}
			if len(model.MissingRoutes(routes, have)) == 0 {
				break
			}
		}
	}
	for _, r := range model.MissingRoutes(routes, have) {
		var prev *model.Route
		for j := range have {
			if model.RouteAt(&r, &have[j]) {
				prev = &have[j]
				break
			}
		}
		if err := k.r.AddRoute(r); err != nil {
			return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "static_route " + r.To.String(), Message: err.Error()}
		}
		rep.Netlink++
		if prev == nil {
			undo = append(undo, func(rt Routing) error { return rt.DeleteRoute(r) })
		} else {
			old := *prev
			undo = append(undo, func(rt Routing) error { return rt.AddRoute(old) })
		}
	}
	haveRules, err := k.rulesAt(rules)
	if err != nil {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "director", Message: err.Error()}
	}
	for _, r := range model.MissingRules(rules, haveRules) {
		if err := k.r.AddRule(r); err != nil {
			return &wire.Error{Code: wire.ExitFailed, Step: step, Object: fmt.Sprintf("static_rule priority %d", r.Priority), Message: err.Error()}
		}
		rep.Netlink++
		undo = append(undo, func(rt Routing) error { return rt.DeleteRule(r) })
	}
	return nil
}
