package cluster

import "github.com/lvsops/terraform-provider-lvs/internal/model"

// HoldsAddress reports whether the host has the address a on its device,
// as the agent observed it (the devices of the addresses it manages).
func (v *View) HoldsAddress(a model.HostAddress) bool {
	for _, got := range v.obs.Addresses {
		if got.Device == a.Device && got.Prefix.Addr() == a.Prefix.Addr() {
			return true
		}
	}
	return false
}
