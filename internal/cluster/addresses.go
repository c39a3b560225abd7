package cluster

import "github.com/lvsops/terraform-provider-lvs/internal/model"

// HeldAddress is the address a as the host holds it on its device (its
// observed scope included: empty when the agent reports none), and
// whether it holds it at all.
func (v *View) HeldAddress(a model.HostAddress) (model.HostAddress, bool) {
	for _, got := range v.obs.Addresses {
		if got.Device == a.Device && got.Prefix.Addr() == a.Prefix.Addr() {
			return got, true
		}
	}
	return model.HostAddress{}, false
}
