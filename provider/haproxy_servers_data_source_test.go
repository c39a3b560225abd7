package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// Servers as haproxy allows them, rendered by the data source with the
// real terraform: host names, resolvers sections, and the mistakes refused
// at plan with the attribute's path.
func TestAccHAProxyConfigDataSource_serversByName(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: `
data "lvs_haproxy_config" "test" {
  defaults {
    mode = "http"
  }
  resolvers {
    name                  = "dc1"
    nameservers           = ["10.0.0.53:53", "[2001:db8::53]:53"]
    resolve_retries       = 3
    timeout_resolve       = 1000
    timeout_retry         = 500
    hold_valid            = 10000
    accepted_payload_size = 8192
  }
  resolvers {
    name              = "system"
    parse_resolv_conf = true
  }
  frontend {
    name            = "www"
    default_backend = "web"
    bind {
      port = 80
    }
  }
  backend {
    name = "web"
    server {
      name           = "app1"
      address        = "app1.example.com"
      port           = 8080
      check          = true
      resolvers      = "dc1"
      resolve_prefer = "ipv4"
      init_addr      = ["last", "libc", "none"]
    }
    server {
      name       = "app2"
      address    = "app2.example.com"
      check      = true
      check_port = 8081
      resolvers  = "system"
      init_addr  = ["none", "192.0.2.2"]
    }
    server {
      name    = "app3"
      address = "2001:db8::3"
      port    = 8080
    }
    server {
      name       = "tls"
      address    = "10.0.0.4"
      port       = 443
      check      = true
      ssl        = true
      verify     = "required"
      ca_file    = "/etc/ssl/certs/ca-certificates.crt"
      sni        = "str(api.example.com)"
      verifyhost = "api.example.com"
      options    = "alpn http/1.1"
    }
    server {
      name       = "tlscheck"
      address    = "10.0.0.5"
      port       = 80
      check      = true
      check_port = 8443
      check_ssl  = true
      verify     = "none"
    }
    server {
      name        = "agent"
      address     = "10.0.0.6"
      port        = 80
      check       = true
      agent_check = true
      agent_port  = 9999
      agent_inter = 5000
    }
  }
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.lvs_haproxy_config.test", tfjsonpath.New("content"), containsAll(
					"\nresolvers dc1\n    nameserver ns1 10.0.0.53:53\n    nameserver ns2 [2001:db8::53]:53\n    resolve_retries 3\n"+
						"    timeout resolve 1000\n    timeout retry 500\n    hold valid 10000\n    accepted_payload_size 8192\n",
					"\nresolvers system\n    parse-resolv-conf\n",
					"    server app1 app1.example.com:8080 check resolvers dc1 resolve-prefer ipv4 init-addr last,libc,none\n",
					"    server app2 app2.example.com check port 8081 resolvers system init-addr none,192.0.2.2\n",
					"    server app3 [2001:db8::3]:8080\n",
					"    server tls 10.0.0.4:443 check ssl verify required ca-file /etc/ssl/certs/ca-certificates.crt sni str(api.example.com) verifyhost api.example.com alpn http/1.1\n",
					"    server tlscheck 10.0.0.5:80 check port 8443 check-ssl verify none\n",
					"    server agent 10.0.0.6:80 check agent-check agent-port 9999 agent-inter 5000ms\n",
				)),
			},
		}},
	})
}

func TestAccHAProxyConfigDataSource_serverErrors(t *testing.T) {
	server := func(attrs string) string {
		return `
data "lvs_haproxy_config" "test" {
  resolvers {
    name        = "dc1"
    nameservers = ["10.0.0.53:53"]
  }
  backend {
    name = "web"
    server {
      name = "app1"
      port = 443
` + attrs + `
    }
  }
}`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:      server(`address = "app_1.example.com"`),
				ExpectError: phrase(`backend[0].server[0].address: "app_1.example.com" is not an IP address or an RFC 1123 host name`),
			},
			{
				Config:      server(`address = "10.0.0.256"`),
				ExpectError: phrase(`backend[0].server[0].address: "10.0.0.256" is not an IP address or an RFC 1123 host name`),
			},
			{
				Config: server(`
      address   = "app1.example.com"
      resolvers = "dc2"`),
				ExpectError: phrase(`backend[0].server[0].resolvers: "dc2" is not the name of a resolvers section of this configuration`),
			},
			{
				Config: server(`
      address   = "10.0.0.1"
      resolvers = "dc1"`),
				ExpectError: phrase(`backend[0].server[0].resolvers: resolves a host name, but address is the IP address 10.0.0.1`),
			},
			{
				Config: server(`
      address        = "app1.example.com"
      resolve_prefer = "ipv5"`),
				ExpectError: phrase(`backend[0].server[0].resolve_prefer value must be one of`),
			},
			{
				Config: server(`
      address   = "app1.example.com"
      init_addr = ["dns"]`),
				ExpectError: phrase(`backend[0].server[0].init_addr[0]: "dns" is not allowed`),
			},
			{
				// haproxy -c refuses ssl without a CA file: refused at plan.
				Config: server(`
      address = "10.0.0.1"
      ssl     = true`),
				ExpectError: phrase(`backend[0].server[0].ca_file: must be set: with ssl or check_ssl haproxy verifies the server's certificate (verify = "required")`),
			},
			{
				Config: server(`
      address = "10.0.0.1"
      ssl     = true
      verify  = "required"`),
				ExpectError: phrase(`backend[0].server[0].ca_file: must be set`),
			},
			{
				Config: server(`
      address = "10.0.0.1"
      ssl     = true
      ca_file = "/home/me/ca.pem"`),
				ExpectError: phrase(`backend[0].server[0].ca_file: "/home/me/ca.pem" is outside the directories CA files may be in`),
			},
			{
				Config: server(`
      address = "10.0.0.1"
      sni     = "str(a.example)"`),
				ExpectError: phrase(`backend[0].server[0].sni: applies to TLS connections to the server; set ssl = true`),
			},
			{
				Config: server(`
      address    = "10.0.0.1"
      ssl        = true
      verify     = "none"
      verifyhost = "a.example"`),
				ExpectError: phrase(`backend[0].server[0].verifyhost: names the host the server's certificate must be for, but verify = "none" checks no certificate`),
			},
			{
				Config: server(`
      address = "10.0.0.1"
      ssl     = true
      verify  = "optional"`),
				ExpectError: phrase(`backend[0].server[0].verify value must be one of`),
			},
			{
				// haproxy -c refuses an agent check without a port.
				Config: server(`
      address     = "10.0.0.1"
      agent_check = true`),
				ExpectError: phrase(`backend[0].server[0].agent_port: must be set with agent_check = true`),
			},
			{
				Config: server(`
      address     = "10.0.0.1"
      agent_inter = 1000`),
				ExpectError: phrase(`backend[0].server[0].agent_check: agent_port and agent_inter tune the agent check; set agent_check = true`),
			},
			{
				Config: server(`
      address = "10.0.0.1"
      ssl     = true
      verify  = "none"
      options = "ssl"`),
				ExpectError: phrase(`backend[0].server[0].options: has "ssl", which the attribute ssl sets`),
			},
			{
				Config: `
data "lvs_haproxy_config" "test" {
  resolvers {
    name        = "dc1"
    nameservers = ["10.0.0.53"]
  }
}`,
				ExpectError: phrase(`resolvers[0].nameservers[0]: must be an IP address and port, such as 10.0.0.53:53`),
			},
			{
				Config: `
data "lvs_haproxy_config" "test" {
  resolvers {
    name = "dc1"
  }
}`,
				ExpectError: phrase(`resolvers[0].nameservers: must list a nameserver (or set parse_resolv_conf = true)`),
			},
		},
	})
}
