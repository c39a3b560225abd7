# An haproxy real server behind an LVS DR director: it accepts the VIP on
# port 80 and routes /api to its own backend.
data "lvs_haproxy_config" "web" {
  global {
    maxconn = 20000
    user    = "haproxy"
    group   = "haproxy"
    chroot  = "/var/lib/haproxy"

    log {
      address  = "/dev/log"
      facility = "local0"
    }
  }

  defaults {
    mode            = "http"
    log_global      = true
    redispatch      = true
    retries         = 3
    timeout_connect = 5000
    timeout_client  = 50000
    timeout_server  = 50000
    options         = ["httplog", "dontlognull"]
  }

  frontend {
    name            = "www"
    default_backend = "web"

    bind {
      address = "192.0.2.10"
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
    balance = "roundrobin"

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
    }
  }

  backend {
    name    = "api"
    balance = "leastconn"

    server {
      name    = "api1"
      address = "10.0.1.21"
      port    = 9000
      check   = true
    }
  }
}

# It is sensitive because free options lines may hold secrets (stats auth).
output "haproxy_cfg" {
  value     = data.lvs_haproxy_config.web.content
  sensitive = true
}
