# The global and defaults sections of an haproxy host; its
# lvs_haproxy_frontend resources inherit the defaults. The resolvers
# section is what servers given by host name may resolve through at run
# time (server.resolvers = "dc1").
resource "lvs_haproxy" "lb1" {
  ssh {
    host = "10.0.0.21"
  }

  global {
    maxconn  = 20000
    nbthread = 4
    user     = "haproxy"
    group    = "haproxy"
    log {
      address  = "/dev/log"
      facility = "local0"
      level    = "notice"
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

  resolvers {
    name            = "dc1"
    nameservers     = ["10.0.0.53:53", "10.0.0.54:53"]
    resolve_retries = 3
    timeout_resolve = 1000
    hold_valid      = 10000
  }
}
