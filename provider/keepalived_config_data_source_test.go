package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// drMaster is a DR director: one VRRP instance holding the VIP, tracked by
// a health script, and a virtual server with two real servers.
const drMaster = `
data "lvs_keepalived_config" "test" {
  interface = "eth0"
  router_id = "lb1"

  vrrp_instance {
    name              = "VI_1"
    state             = "MASTER"
    virtual_router_id = 51
    priority          = 150
    virtual_ipaddress {
      address = "10.0.0.10/24"
    }
    track_script {
      name     = "chk_haproxy"
      script   = "/usr/bin/pgrep haproxy"
      interval = 2
      weight   = -20
    }
  }

  virtual_server {
    address           = "10.0.0.10"
    port              = 80
    scheduler         = "wrr"
    forwarding_method = "dr"

    real_server {
      address = "10.0.0.21"
      weight  = 2
      tcp_check {
        connect_timeout = 3
      }
    }
    real_server {
      address = "10.0.0.22"
      http_get {
        url {
          path        = "/healthz"
          status_code = "200"
        }
      }
    }
  }
}
`

func TestAccKeepalivedConfigDataSource_validation(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				// dr rewrites no ports: a real server cannot listen elsewhere.
				Config: `
data "lvs_keepalived_config" "test" {
  virtual_server {
    address           = "10.0.0.10"
    port              = 80
    forwarding_method = "dr"
    real_server {
      address = "10.0.0.21"
      port    = 8080
    }
  }
}`,
				ExpectError: phrase("virtual_server[0].real_server[0].port: 8080 differs from the virtual port 80"),
			},
		},
	})
}
