package render

import "github.com/lvsops/terraform-provider-lvs/internal/model"

// Sysctl renders a sysctl.d fragment, each setting under its reason.
func Sysctl(list []model.Sysctl) string {
	return ""
}

// RealServerScript renders the real-server side of a host as an idempotent
// shell script (for cloud-init and review).
func RealServerScript(h model.HostSetup) string {
	return ""
}
