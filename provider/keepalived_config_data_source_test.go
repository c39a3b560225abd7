package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// drMaster is a DR director: one VRRP instance holding the VIP, tracked by
// a health script, and a virtual server with two real servers.
const drMaster = `
data "lvs_keepalived_config" "test" {
  interface              = "eth0"
  router_id              = "lb1"
  enable_script_security = true
  script_user            = "root"

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

func TestAccKeepalivedConfigDataSource_directRouting(t *testing.T) {
	const ds = "data.lvs_keepalived_config.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: drMaster,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("content"), containsAll(
					"global_defs {\n    router_id lb1\n    script_user root\n    enable_script_security\n}\n",
					"vrrp_script chk_haproxy {\n    script \"/usr/bin/pgrep haproxy\"\n    interval 2\n}\n",
					"vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 150\n",
					"    virtual_ipaddress {\n        10.0.0.10/24 dev eth0\n    }\n",
					"    track_script {\n        chk_haproxy weight -20\n    }\n",
					"virtual_server 10.0.0.10 80 {\n    lvs_sched wrr\n    lvs_method DR\n    protocol TCP\n",
					"    real_server 10.0.0.21 80 {\n        weight 2\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n",
					"    real_server 10.0.0.22 80 {\n        weight 1\n        HTTP_GET {\n            url {\n                path /healthz\n                status_code 200\n",
				)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("sysctl_content"), containsAll(
					"net.ipv4.conf.all.send_redirects = 0\n",
					"net.ipv4.conf.default.send_redirects = 0\n",
					"net.ipv4.conf.eth0.send_redirects = 0\n",
				)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("ipvsadm_rules"), knownvalue.StringExact(
					"-A -t 10.0.0.10:80 -s wrr\n"+
						"-a -t 10.0.0.10:80 -r 10.0.0.21:80 -g -w 2\n"+
						"-a -t 10.0.0.10:80 -r 10.0.0.22:80 -g -w 1\n",
				)),
			},
		}},
	})
}

// A NAT director with a password and extra sysctls: the password reaches
// keepalived.conf, the derived ip_forward and the operator's sysctl reach
// the fragment, each under its reason.
func TestAccKeepalivedConfigDataSource_natWithAuthentication(t *testing.T) {
	const ds = "data.lvs_keepalived_config.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: `
data "lvs_keepalived_config" "test" {
  interface = "eth0"
  vrrp_instance {
    name              = "VI_OUT"
    state             = "BACKUP"
    virtual_router_id = 60
    priority          = 100
    authentication {
      type     = "PASS"
      password = "s3cret"
    }
    virtual_ipaddress {
      address = "192.0.2.10/24"
    }
  }
  sysctl {
    key    = "net.core.somaxconn"
    value  = "4096"
    reason = "deep accept queues"
  }
  virtual_server {
    address   = "192.0.2.10"
    port      = 443
    scheduler = "rr"
    real_server {
      address = "10.1.0.11"
      port    = 8443
    }
  }
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("content"), containsAll(
					"    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n",
					"    lvs_method NAT\n",
					"    real_server 10.1.0.11 8443 {\n",
				)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("sysctl_content"), containsAll(
					"net.ipv4.ip_forward = 1\n",
					"# deep accept queues\nnet.core.somaxconn = 4096\n",
				)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("ipvsadm_rules"), knownvalue.StringExact(
					"-A -t 192.0.2.10:443 -s rr\n"+
						"-a -t 192.0.2.10:443 -r 10.1.0.11:8443 -m -w 1\n",
				)),
			},
		}},
	})
}

// Values not known at plan time are not validated then; the data source is
// read, and validated, once they are.
func TestAccKeepalivedConfigDataSource_unknownAtPlan(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: `
resource "terraform_data" "port" {
  input = 8080
}

data "lvs_keepalived_config" "test" {
  virtual_server {
    address = "10.0.0.10"
    port    = terraform_data.port.output
    real_server {
      address = "10.0.0.21"
    }
  }
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.lvs_keepalived_config.test", tfjsonpath.New("ipvsadm_rules"),
					knownvalue.StringExact("-A -t 10.0.0.10:8080 -s wlc\n-a -t 10.0.0.10:8080 -r 10.0.0.21:8080 -m -w 1\n")),
			},
		}},
	})
}

func TestAccKeepalivedConfigDataSource_validation(t *testing.T) {
	instance := func(body string) string {
		return `
data "lvs_keepalived_config" "test" {
  interface = "eth0"
` + body + `
}`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				// dr rewrites no ports: a real server cannot listen elsewhere.
				Config: instance(`
  virtual_server {
    address           = "10.0.0.10"
    port              = 80
    forwarding_method = "dr"
    real_server {
      address = "10.0.0.21"
      port    = 8080
    }
  }`),
				ExpectError: phrase("virtual_server[0].real_server[0].port: 8080 differs from the virtual port 80"),
			},
			{
				Config: instance(`
  vrrp_instance {
    name              = "VI_1"
    virtual_router_id = 300
    priority          = 100
    virtual_ipaddress {
      address = "10.0.0.10"
    }
  }`),
				ExpectError: phrase("Attribute vrrp_instance[0].virtual_router_id value must be between 1 and 255, got: 300"),
			},
			{
				Config: instance(`
  vrrp_instance {
    name              = "VI_1"
    virtual_router_id = 51
    priority          = 100
    virtual_ipaddress {
      address = "10.0.0.10"
    }
  }
  vrrp_instance {
    name              = "VI_2"
    virtual_router_id = 51
    priority          = 100
    virtual_ipaddress {
      address = "10.0.0.11"
    }
  }`),
				ExpectError: phrase(`vrrp_instance[1].virtual_router_id: 51 is already used by vrrp_instance[0] on interface "eth0"`),
			},
			{
				Config: instance(`
  vrrp_instance {
    name              = "VI_1"
    virtual_router_id = 51
    priority          = 100
    version           = 3
    authentication {
      type     = "PASS"
      password = "s3cret"
    }
    virtual_ipaddress {
      address = "10.0.0.10"
    }
  }`),
				ExpectError: phrase("vrrp_instance[0].authentication: VRRP version 3 has no authentication"),
			},
			{
				// An address with a zone (and junk after it) is refused, never
				// rendered as another address with the zone dropped.
				Config: instance(`
  vrrp_instance {
    name              = "VI_1"
    virtual_router_id = 51
    priority          = 100
    virtual_ipaddress {
      address = "fe80::1%eth0}"
    }
  }`),
				ExpectError: phrase("vrrp_instance[0].virtual_ipaddress[0].address: must be an IP address with an optional prefix length, such as 10.0.0.10/24, and no zone"),
			},
			{
				// Required inside a given single block, though the block itself is optional.
				Config: instance(`
  vrrp_instance {
    name              = "VI_1"
    virtual_router_id = 51
    priority          = 100
    authentication {
      type = "PASS"
    }
    virtual_ipaddress {
      address = "10.0.0.10"
    }
  }`),
				ExpectError: phrase("vrrp_instance[0].authentication.password: must be set"),
			},
			{
				Config: instance(`
  vrrp_instance {
    name              = "VI_1"
    virtual_router_id = 51
    priority          = 100
    virtual_ipaddress {
      address = "10.0.0.300/24"
    }
  }`),
				ExpectError: phrase("vrrp_instance[0].virtual_ipaddress[0].address: must be an IP address with an optional prefix length"),
			},
			{
				Config: instance(`
  virtual_server {
    address   = "10.0.0.10"
    port      = 80
    scheduler = "fastest"
    real_server {
      address = "10.0.0.21"
    }
  }`),
				ExpectError: phrase(`Attribute virtual_server[0].scheduler value must be one of:`),
			},
			{
				Config: instance(`
  virtual_server {
    address = "10.0.0.10"
    port    = 80
    real_server {
      address = "2001:db8::21"
    }
  }`),
				ExpectError: phrase("virtual_server[0].real_server[0].address: 2001:db8::21 is of another address family than its virtual server"),
			},
		},
	})
}

// checkersAndGlobals has global_defs and each newer checker.
const checkersAndGlobals = `
data "lvs_keepalived_config" "test" {
  interface = "eth0"
  router_id = "lb1"

  global_defs {
    notification_email      = ["ops@example.com"]
    notification_email_from = "lb1@example.com"
    smtp_server             = "10.0.0.25"
    smtp_connect_timeout    = 30
    vrrp_strict             = true
    vrrp_iptables {}
    vrrp_garp_interval = 0.25
    lvs_sync_daemon {
      interface     = "eth1"
      vrrp_instance = "VI_1"
    }
  }

  vrrp_instance {
    name              = "VI_1"
    state             = "MASTER"
    virtual_router_id = 51
    priority          = 150
    smtp_alert        = true
    virtual_ipaddress {
      address = "10.0.0.10/24"
    }
  }

  virtual_server {
    address  = "10.0.0.10"
    port     = 53
    protocol = "udp"

    real_server {
      address = "10.0.0.21"
      udp_check {
        payload       = "0a0b"
        require_reply = true
        reply_pattern = "0a xx"
      }
    }
    real_server {
      address = "10.0.0.22"
      ping_check {
        retry = 4
      }
    }
    real_server {
      address = "10.0.0.23"
      dns_check {
        type = "A"
        name = "www.example.com"
      }
    }
    real_server {
      address = "10.0.0.24"
      file_check {
        file   = "/run/lvs/rs24"
        weight = 0
      }
    }
  }

  virtual_server {
    address = "10.0.0.10"
    port    = 25

    real_server {
      address = "10.0.0.31"
      smtp_check {
        helo_name = "lb1.example.com"
        host {
          connect_ip = "10.0.0.31"
        }
        host {
          connect_ip   = "10.0.1.31"
          connect_port = 587
        }
      }
    }
    real_server {
      address = "10.0.0.32"
      http_get {
        url {
          path        = "/"
          status_code = "200-299 400-499 503"
        }
      }
    }
  }
}
`

func TestAccKeepalivedConfigDataSource_checkersAndGlobals(t *testing.T) {
	const ds = "data.lvs_keepalived_config.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: checkersAndGlobals,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("content"), containsAll(
					"    notification_email {\n        ops@example.com\n    }\n    notification_email_from lb1@example.com\n",
					"    smtp_server 10.0.0.25\n    smtp_connect_timeout 30\n",
					"    vrrp_strict\n",
					"    vrrp_iptables\n",
					"    vrrp_garp_interval 0.25\n    lvs_sync_daemon eth1 VI_1\n",
					"    smtp_alert\n}\n",
					"track_file file_run_lvs_rs24 {\n    file /run/lvs/rs24\n}\n",
					"        UDP_CHECK {\n            payload 0a0b\n            require_reply 0a xx\n        }\n",
					"        PING_CHECK {\n            retry 4\n        }\n",
					"        DNS_CHECK {\n            type A\n            name www.example.com\n        }\n",
					"        FILE_CHECK {\n            track_file file_run_lvs_rs24\n            weight 0\n        }\n",
					"        SMTP_CHECK {\n            helo_name lb1.example.com\n            host {\n                connect_ip 10.0.0.31\n            }\n            host {\n                connect_ip 10.0.1.31\n                connect_port 587\n            }\n        }\n",
					"                status_code 200-299 400-499 503\n",
				)),
			},
		}},
	})
}
