package cluster

import (
	"fmt"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// HeldStaticRoutes reports, for each route of want (a director's static
// routes), whether the host's kernel holds it as keepalived installs it
// (model.RouteHeld): false for one deleted, or changed, by hand. An
// observation that failed to read the routes is an error, never "not
// held".
func (v *View) HeldStaticRoutes(want []model.Route) ([]bool, error) {
	if len(want) == 0 {
		return nil, nil
	}
	if msg := v.obs.Errors[wire.ObserveRoutes]; msg != "" {
		return nil, fmt.Errorf("reading the routes and rules of %s: %s", v.Host(), msg)
	}
	out := make([]bool, len(want))
	for i := range want {
		for j := range v.obs.Routes {
			if model.RouteHeld(&want[i], &v.obs.Routes[j]) {
				out[i] = true
				break
			}
		}
	}
	return out, nil
}

// HeldStaticRules is HeldStaticRoutes for a director's static rules.
func (v *View) HeldStaticRules(want []model.Rule) ([]bool, error) {
	if len(want) == 0 {
		return nil, nil
	}
	if msg := v.obs.Errors[wire.ObserveRoutes]; msg != "" {
		return nil, fmt.Errorf("reading the routes and rules of %s: %s", v.Host(), msg)
	}
	out := make([]bool, len(want))
	for i := range want {
		for j := range v.obs.Rules {
			if model.RuleHeld(&want[i], &v.obs.Rules[j]) {
				out[i] = true
				break
			}
		}
	}
	return out, nil
}
