package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// badInput is one configuration the provider must refuse at plan, before
// any host is reached (the ssh hosts are TEST-NET addresses nothing
// answers on), with an error that names the attribute.
type badInput struct {
	name   string
	config string
	// want is a phrase of the error (whitespace-insensitive): the
	// attribute path and, where there is one, the allowed values.
	want string
}

// badDirector and the other bad* helpers wrap a block's attributes into a
// resource that is valid apart from them.
func badDirector(body string) string {
	return `
resource "lvs_director" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  interface = "eth0"
` + body + `
}`
}

func badVRRPInstance(attrs string) string {
	return badDirector(`
  vrrp_instance {
    name              = "VI_1"
    virtual_router_id = 51
    priority          = 100
` + attrs + `
    virtual_ipaddress {
      address = "192.0.2.100/24"
    }
  }`)
}

func badVirtualServer(attrs string) string {
	return `
resource "lvs_virtual_server" "bad" {
  directors = ["192.0.2.1"]
  address   = "192.0.2.10"
  port      = 80
` + attrs + `
}`
}

func badRealServer(attrs string) string {
	return `
resource "lvs_real_server" "bad" {
  virtual_server_id = "tcp/192.0.2.10:80@192.0.2.1"
  address           = "192.0.2.21"
` + attrs + `
}`
}

func badHAProxyGlobal(attrs string) string {
	return `
resource "lvs_haproxy" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  global {
` + attrs + `
  }
}`
}

func badFrontendServer(attrs string) string {
	return `
resource "lvs_haproxy_frontend" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  name = "web"
  bind {
    port = 80
  }
  backend {
    server {
      name    = "a"
      address = "192.0.2.10"
      port    = 80
      check   = true
` + attrs + `
    }
  }
}`
}

// badInputs is the hardening issue's table: one row per category of bad
// value it names. Each must be refused at plan with its attribute.
var badInputs = []badInput{
	// An explicit 0 where the model reads 0 as "unset" would silently
	// become the daemon's default, which 0 is not.
	{"advert_int 0", badVRRPInstance(`advert_int = 0`), `vrrp_instance[0].advert_int value must be between`},
	{"garp_master_repeat 0", badVRRPInstance(`garp_master_repeat = 0`), `vrrp_instance[0].garp_master_repeat value must be at least 1`},
	{"garp_master_delay 0", badVRRPInstance(`garp_master_delay = 0`), `vrrp_instance[0].garp_master_delay value must be at least 1`},
	{"track_script interval 0", badVRRPInstance(`
    track_script {
      name     = "chk"
      script   = "/bin/true"
      interval = 0
    }`), `vrrp_instance[0].track_script[0].interval value must be at least 1`},
	{"delay_loop 0", badVirtualServer(`delay_loop = 0`), `delay_loop value must be at least 1`},
	{"virtual server retry 0", badVirtualServer(`retry = 0`), `retry value must be at least 1`},
	{"real server connect_timeout 0", badRealServer(`
  tcp_check {
    connect_timeout = 0
  }`), `tcp_check.connect_timeout value must be at least 1`},
	{"nbthread 0", badHAProxyGlobal(`nbthread = 0`), `global.nbthread value must be at least 1`},
	{"haproxy server inter 0", badFrontendServer(`inter = 0`), `backend.server[0].inter value must be at least 1`},
	// Fractions in whole-number attributes: a clear error at the attribute,
	// not the framework's "Value Conversion Error".
	{"fraction without VRRPv3", badVRRPInstance(`advert_int = 1.5`), `vrrp_instance[0].advert_int: 1.5 has a fraction`},
	{"fractional weight", badRealServer(`weight = 51.5`), `Attribute weight must be a whole number`},
	// Out of range and enums name the allowed values.
	{"priority out of range", badDirector(`
  vrrp_instance {
    name              = "VI_1"
    virtual_router_id = 51
    priority          = 255
  }`), `vrrp_instance[0].priority value must be between 1 and 254`},
	{"unknown scheduler", badVirtualServer(`scheduler = "fastest"`), `scheduler value must be one of`},
	{"weight out of range", badRealServer(`weight = -1`), `weight value must be between`},
	// Addresses and ids name their attribute.
	{"bad real server address", `
resource "lvs_real_server" "bad" {
  virtual_server_id = "tcp/192.0.2.10:80@192.0.2.1"
  address           = "192.0.2.300"
}`, `Invalid IP Address String Value`},
	{"bad virtual_server_id", `
resource "lvs_real_server" "bad" {
  virtual_server_id = "no-such-id"
  address           = "192.0.2.21"
}`, `Attribute virtual_server_id: not the id of an lvs_virtual_server`},
	{"VIP with a zone", badVRRPInstance(`
    virtual_ipaddress {
      address = "fe80::1%eth0}/64"
    }`), `vrrp_instance[0].virtual_ipaddress[0].address: must be an IP address`},
	// Two health checks on one real server point at both.
	{"two health checks", badRealServer(`
  tcp_check {}
  http_get {
    url {
      path = "/"
    }
  }`), `http_get: is a second health check beside tcp_check`},
	// Paths that would reach outside the daemon's own directories.
	{"stats socket outside /run/haproxy", badHAProxyGlobal(`stats_socket = "/etc/passwd"`), `global.stats_socket: "/etc/passwd" is outside the directories`},
	{"chroot with ..", badHAProxyGlobal(`chroot = "/var/lib/../../etc"`), `global.chroot: "/var/lib/../../etc" contains a ".." segment`},
	// ssh blocks.
	{"ssh host with a space", `
resource "lvs_director" "bad" {
  ssh {
    host = "dir 1"
  }
  interface = "eth0"
}`, `Attribute ssh.host: host "dir 1" contains a blank`},
	{"ssh host with a leading dash", `
resource "lvs_director" "bad" {
  ssh {
    host = "-oProxyCommand=x"
  }
  interface = "eth0"
}`, `Attribute ssh.host: host "-oProxyCommand=x" starts with`},
	{"ssh port out of range", `
resource "lvs_director" "bad" {
  ssh {
    host = "192.0.2.1"
    port = 70000
  }
  interface = "eth0"
}`, `ssh.port value must be between 1 and 65535`},
	// Import IDs, refused before any host is asked.
	{"real server import with a bad host", badRealServer("") + `
import {
  to = lvs_real_server.bad
  id = "tcp/192.0.2.10:80/192.0.2.21:80@192.0.2.1;host=root@"
}`, `does not have the form VIRTUAL_SERVER_KEY/ADDRESS:PORT@DIRECTORS;host=HOST`},
}

// TestBadInputRefusedAtPlan runs terraform plan on every row of badInputs.
func TestBadInputRefusedAtPlan(t *testing.T) {
	for _, c := range badInputs {
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
