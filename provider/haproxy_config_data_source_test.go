package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccHAProxyConfigDataSource_routing(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: `
data "lvs_haproxy_config" "test" {
  global {
    maxconn = 20000
    user    = "haproxy"
    group   = "haproxy"
    log {
      address  = "/dev/log"
      facility = "local0"
    }
  }

  defaults {
    mode            = "http"
    log_global      = true
    timeout_connect = 5000
    timeout_client  = 50000
    timeout_server  = 50000
    options         = ["httplog"]
  }

  frontend {
    name            = "www"
    default_backend = "web"
    bind {
      address = "10.0.0.10"
      port    = 80
    }
    acl {
      name      = "is_api"
      criterion = "path_beg /api"
    }
    use_backend {
      backend   = "api"
      condition = "is_api"
    }
  }

  backend {
    name    = "web"
    balance = "leastconn"
    http_check {
      path          = "/healthz"
      expect_status = "200"
    }
    server {
      name    = "web1"
      address = "10.0.1.11"
      port    = 8080
      check   = true
    }
    server {
      name    = "web2"
      address = "10.0.1.12"
      port    = 8080
      check   = true
      backup  = true
    }
  }

  backend {
    name = "api"
    server {
      name    = "api1"
      address = "10.0.1.21"
      port    = 9000
    }
  }
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.lvs_haproxy_config.test", tfjsonpath.New("content"), containsAll(
					"\nglobal\n    log /dev/log local0\n    user haproxy\n    group haproxy\n    maxconn 20000\n",
					"\ndefaults\n    mode http\n    log global\n",
					"    timeout connect 5000\n    timeout client 50000\n    timeout server 50000\n",
					"    option httplog\n",
					"\nfrontend www\n    bind 10.0.0.10:80\n",
					"    acl is_api path_beg /api\n    use_backend api if is_api\n    default_backend web\n",
					"\nbackend web\n    balance leastconn\n    option httpchk\n",
					"    server web1 10.0.1.11:8080 check\n    server web2 10.0.1.12:8080 check backup\n",
					"\nbackend api\n",
					"    server api1 10.0.1.21:9000\n",
				)),
			},
		}},
	})
}

func TestAccHAProxyConfigDataSource_validation(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: `
data "lvs_haproxy_config" "test" {
  frontend {
    name            = "www"
    default_backend = "nowhere"
    bind {
      port = 80
    }
  }
}`,
				ExpectError: phrase(`frontend[0].default_backend: "nowhere" is not the name of a backend`),
			},
			{
				// An http frontend cannot hand requests to a tcp backend.
				Config: `
data "lvs_haproxy_config" "test" {
  frontend {
    name            = "www"
    mode            = "http"
    default_backend = "db"
    bind {
      port = 80
    }
  }
  backend {
    name = "db"
    mode = "tcp"
    server {
      name    = "db1"
      address = "10.0.1.31"
      port    = 5432
    }
  }
}`,
				ExpectError: phrase(`frontend[0].mode: frontend "www" is http but backend "db" is tcp`),
			},
			{
				Config: `
data "lvs_haproxy_config" "test" {
  backend {
    name = "web"
    server {
      name    = "web1"
      address = "10.0.1.11"
      port    = 70000
    }
  }
}`,
				ExpectError: phrase("Attribute backend[0].server[0].port value must be between 0 and 65535, got: 70000"),
			},
			{
				// A port-less server with check has nothing to check without check_port.
				Config: `
data "lvs_haproxy_config" "test" {
  backend {
    name = "web"
    server {
      name    = "web1"
      address = "10.0.1.11"
      check   = true
    }
  }
}`,
				ExpectError: phrase("backend[0].server[0].check_port: must be set for a port-less server"),
			},
			{
				// An option line must not open a section of its own.
				Config: `
data "lvs_haproxy_config" "test" {
  global {
    options = ["frontend evil"]
  }
}`,
				ExpectError: phrase(`global.options[0]: "frontend evil" starts with "frontend"`),
			},
			{
				Config: `
data "lvs_haproxy_config" "test" {
  backend {
    name = "web"
    server {
      name    = "web1"
      address = "10.0.1.11"
      port    = 80
      fall    = 3
    }
  }
}`,
				ExpectError: phrase("backend[0].server[0].check: inter, fall and rise tune the health check; set check = true"),
			},
			{
				// haproxy would replace /etc/passwd with its socket.
				Config: `
data "lvs_haproxy_config" "test" {
  global {
    stats_socket = "/run/haproxy/../../etc/passwd"
  }
}`,
				ExpectError: phrase(`global.stats_socket: "/run/haproxy/../../etc/passwd" contains a ".." segment`),
			},
			{
				Config: `
data "lvs_haproxy_config" "test" {
  global {
    stats_socket = "/etc/passwd"
  }
}`,
				ExpectError: phrase("give a path below `/run/haproxy/`, `/var/run/haproxy/` or `/var/lib/haproxy/`"),
			},
			{
				// The same socket smuggled through the free options lines.
				Config: `
data "lvs_haproxy_config" "test" {
  global {
    options = ["stats socket /etc/passwd"]
  }
}`,
				ExpectError: phrase(`global.options[0]: "stats socket /etc/passwd": "stats socket" creates the admin socket`),
			},
		},
	})
}

// TestHAProxyConfigContentIsSensitive: the rendered file carries the free
// options lines, which may hold a stats auth password, so plans must not
// print it.
func TestHAProxyConfigContentIsSensitive(t *testing.T) {
	var resp datasource.SchemaResponse
	NewHAProxyConfigDataSource().Schema(context.Background(), datasource.SchemaRequest{}, &resp)
	content, ok := resp.Schema.Attributes["content"].(schema.StringAttribute)
	if !ok {
		t.Fatalf("content is %T, want a string attribute", resp.Schema.Attributes["content"])
	}
	if !content.Sensitive {
		t.Error("lvs_haproxy_config.content is not sensitive; a stats auth password in an options line would print in plans")
	}
}

// TestAccHAProxyConfigDataSource_statsFrontend: a frontend that serves
// haproxy's statistics page renders without a backend; without its stats
// lines the same frontend is refused at default_backend (first: the last
// step's configuration must be valid for the test's final destroy).
func TestAccHAProxyConfigDataSource_statsFrontend(t *testing.T) {
	const config = `
data "lvs_haproxy_config" "test" {
  defaults {
    mode = "http"
  }
  frontend {
    name    = "stats"
    options = [%s]
    bind {
      port = 8181
    }
  }
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:      fmt.Sprintf(config, `"option forwardfor"`),
				ExpectError: phrase(`frontend[0].default_backend: must be set (or give use_backend rules); a frontend without a backend drops every request`),
			},
			{
				Config: fmt.Sprintf(config, `"stats uri /", "stats show-modules"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.lvs_haproxy_config.test", tfjsonpath.New("content"), containsAll(
						"\nfrontend stats\n    bind :8181\n    stats uri /\n    stats show-modules\n",
					)),
				},
			},
		},
	})
}
