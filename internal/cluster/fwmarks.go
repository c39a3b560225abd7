package cluster

import (
	"fmt"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// FwmarkMatches are the matches of the fwmark service vs as the director's
// nftables table has them: vs's own when the table holds exactly the rules
// they expand to, else the rules of vs's mark and family grouped back into
// matches (a rule removed or changed by hand, the table deleted), so the
// plan shows the difference. A rule of a shape the agent does not write
// is not read as any service's. An observation that failed to read the
// table is an error, never an absence.
func (v *View) FwmarkMatches(vs *model.VirtualServer) ([]model.FwmarkMatch, error) {
	if vs.Fwmark == 0 {
		return vs.FwmarkMatches, nil
	}
	if msg := v.obs.Errors[wire.ObserveFwmarks]; msg != "" {
		return nil, fmt.Errorf("reading the firewall marks (nftables table inet lvs_agent) of %s: %s", v.Host(), msg)
	}
	var got []model.FwmarkRule
	if t := v.obs.Fwmarks; t != nil && t.Present {
		for _, r := range t.MarkRules(vs.Fwmark) {
			if r.Destination.Addr().Is6() == vs.IsIPv6() {
				got = append(got, r)
			}
		}
	}
	if model.SameFwmarkRules(got, vs.FwmarkRules()) {
		return vs.FwmarkMatches, nil
	}
	return model.FwmarkMatchesOf(got), nil
}
