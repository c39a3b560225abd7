package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// staticSorryBadInputs are mistakes in a director's static addresses and a
// sorry server's host side, refused at plan with the attribute's path.
var staticSorryBadInputs = []badInput{
	{"static address not an address", badDirector(`
  static_address {
    address = "10.0.0.300/24"
  }`), `static_address[0].address: must be an IP address with an optional prefix length`},
	{"static address twice", badDirector(`
  static_address {
    address = "192.0.2.10/24"
  }
  static_address {
    address = "192.0.2.10"
  }`), `static_address[1].address: 192.0.2.10 is already static_address[0]`},
	{"static address also a VRRP address", badDirector(`
  static_address {
    address = "192.0.2.100/24"
  }
  vrrp_instance {
    name              = "VI_1"
    virtual_router_id = 51
    priority          = 100
    virtual_ipaddress {
      address = "192.0.2.100/24"
    }
  }`), `static_address[0].address: 192.0.2.100 is a virtual address of vrrp_instance "VI_1"`},
	{"sorry server host without host", badVirtualServer(`
  forwarding_method = "dr"
  sorry_server {
    address = "192.0.2.50"
    host {
      user = "root"
    }
  }`), `sorry_server.host.host: the sorry server's host name or address is required`},
	{"sorry server nat gateway on dr", badVirtualServer(`
  forwarding_method = "dr"
  sorry_server {
    address = "192.0.2.50"
    host {
      host    = "192.0.2.50"
      gateway = "192.0.2.1"
    }
  }`), `sorry_server.host.gateway: applies to forwarding_method "nat" only`},
}

func TestStaticAndSorryBadInputRefusedAtPlan(t *testing.T) {
	for _, c := range staticSorryBadInputs {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      c.config,
					PlanOnly:    true,
					ExpectError: phrase(c.want),
				}},
			})
		})
	}
}
