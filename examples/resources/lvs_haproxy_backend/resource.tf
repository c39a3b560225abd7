# Two backends on one haproxy host, shared by its frontends: content
# switching sends images and stylesheets to the static servers and the rest
# to the application, whose servers are port-less (they keep the port the
# client connected to, as behind an LVS DR VIP) and health-checked on 8080.
resource "lvs_haproxy_backend" "static" {
  ssh {
    host = "10.0.0.21"
  }
  name    = "static"
  mode    = "http"
  balance = "roundrobin"

  http_check {
    method = "HEAD"
    path   = "/favicon.ico"
  }
  server {
    name    = "static1"
    address = "192.168.1.8"
    port    = 80
    check   = true
  }
}

resource "lvs_haproxy_backend" "app" {
  ssh {
    host = "10.0.0.21"
  }
  name        = "app"
  mode        = "http"
  balance     = "random"
  balance_arg = "2"

  server {
    name       = "app1"
    address    = "192.168.1.10"
    check      = true
    check_port = 8080
    slowstart  = 10000
  }
  server {
    name          = "app2"
    address       = "192.168.1.11"
    check         = true
    check_port    = 8080
    send_proxy_v2 = true
    maxqueue      = 100
  }
}

# Servers given by host name, re-resolved through lvs_haproxy's resolvers
# section "dc1" (starting in maintenance until the name resolves), spoken to
# over TLS verified against the system's CA bundle, and an agent on each
# server saying its state and weight.
resource "lvs_haproxy_backend" "api" {
  ssh {
    host = "10.0.0.21"
  }
  name = "api"
  mode = "http"

  server {
    name        = "api1"
    address     = "api1.internal.example.com"
    port        = 443
    resolvers   = "dc1"
    init_addr   = ["last", "none"]
    check       = true
    ssl         = true
    ca_file     = "/etc/ssl/certs/ca-certificates.crt"
    sni         = "str(api1.internal.example.com)"
    agent_check = true
    agent_port  = 9999
  }
}

resource "lvs_haproxy_frontend" "public" {
  ssh {
    host = "10.0.0.21"
  }
  name = "public"
  mode = "http"
  bind {
    address = "10.0.0.100"
    port    = 80
  }
  acl {
    name      = "is_static"
    criterion = "path_beg /img /css"
  }
  use_backend {
    backend   = lvs_haproxy_backend.static.name
    condition = "is_static"
  }
  use_backend {
    backend   = lvs_haproxy_backend.static.name
    condition = "{ hdr_beg(host) -i img }"
  }
  default_backend = lvs_haproxy_backend.app.name
}
