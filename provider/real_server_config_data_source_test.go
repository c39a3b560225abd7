package provider

import (
	"net/netip"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// TestAccRealServerConfigDataSource renders each method's side and
// compares it with what the renderer gives for the model the agent applies
// (the script and fragment are the same bytes), and refuses bad input on
// the attribute at plan time.
func TestAccRealServerConfigDataSource(t *testing.T) {
	vip := netip.MustParseAddr("10.0.0.10")
	dr := model.RealServerHost{Method: "dr", VIPs: []netip.Addr{vip}}
	tun := model.RealServerHost{Method: "tun", TunnelType: "gre", VIPs: []netip.Addr{vip}}
	nat := model.RealServerHost{Method: "nat", Gateway: netip.MustParseAddr("192.168.1.1")}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: `
data "lvs_real_server_config" "dr" {
  forwarding_method = "dr"
  vips              = ["10.0.0.10"]
}
data "lvs_real_server_config" "tun" {
  forwarding_method = "tun"
  tunnel_type       = "gre"
  vips              = ["10.0.0.10"]
}
data "lvs_real_server_config" "nat" {
  forwarding_method = "nat"
  gateway           = "192.168.1.1"
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.lvs_real_server_config.dr", tfjsonpath.New("script"), knownvalue.StringExact(render.RealServerScript(dr.Setup()))),
					statecheck.ExpectKnownValue("data.lvs_real_server_config.dr", tfjsonpath.New("sysctl"), knownvalue.StringExact(render.Sysctl(dr.Setup().Sysctls))),
					statecheck.ExpectKnownValue("data.lvs_real_server_config.dr", tfjsonpath.New("sysctl"), knownvalue.StringRegexp(regexp.MustCompile(`net\.ipv4\.conf\.lo\.arp_ignore = 1`))),
					statecheck.ExpectKnownValue("data.lvs_real_server_config.dr", tfjsonpath.New("script"), knownvalue.StringRegexp(regexp.MustCompile(`ip addr replace 10\.0\.0\.10/32 dev lo`))),
					statecheck.ExpectKnownValue("data.lvs_real_server_config.dr", tfjsonpath.New("sysctl_file"), knownvalue.StringExact(render.RealServerSysctlFile)),
					statecheck.ExpectKnownValue("data.lvs_real_server_config.tun", tfjsonpath.New("script"), knownvalue.StringExact(render.RealServerScript(tun.Setup()))),
					statecheck.ExpectKnownValue("data.lvs_real_server_config.tun", tfjsonpath.New("script"), knownvalue.StringRegexp(regexp.MustCompile(`ip link set dev gre0 up`))),
					statecheck.ExpectKnownValue("data.lvs_real_server_config.nat", tfjsonpath.New("script"), knownvalue.StringExact(render.RealServerScript(nat.Setup()))),
					statecheck.ExpectKnownValue("data.lvs_real_server_config.nat", tfjsonpath.New("script"), knownvalue.StringRegexp(regexp.MustCompile(`ip route replace default via 192\.168\.1\.1`))),
					statecheck.ExpectKnownValue("data.lvs_real_server_config.nat", tfjsonpath.New("sysctl"), knownvalue.StringExact("")),
				},
			},
			{
				Config: `
data "lvs_real_server_config" "bad" {
  forwarding_method = "dr"
}
`,
				ExpectError: regexp.MustCompile(`(?s)vips.*dr needs the virtual addresses`),
			},
			{
				Config: `
data "lvs_real_server_config" "bad" {
  forwarding_method = "nat"
}
`,
				ExpectError: regexp.MustCompile(`(?s)gateway.*needs the director-side address`),
			},
			{
				Config: `
data "lvs_real_server_config" "bad" {
  forwarding_method = "tunnel"
  vips              = ["10.0.0.10"]
}
`,
				ExpectError: regexp.MustCompile(`(?s)forwarding_method.*value must be one of.*"nat" "dr" "tun"`),
			},
			// A valid configuration last, for the test's destroy.
			{Config: `
data "lvs_real_server_config" "dr" {
  forwarding_method = "dr"
  vips              = ["10.0.0.10"]
}
`},
		},
	})
}
