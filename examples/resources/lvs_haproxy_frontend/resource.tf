# An HTTP frontend on an haproxy host, balancing over two application
# servers that haproxy health-checks. Adding or changing a server reloads
# haproxy without dropping connections.
resource "lvs_haproxy_frontend" "web" {
  ssh {
    host = "10.0.0.21"
  }
  name = "web"
  mode = "http"

  bind {
    address = "10.0.0.100"
    port    = 80
  }
  timeout_client = 30000
  options        = ["option forwardfor", "http-request set-header X-Forwarded-Proto http"]

  backend {
    balance         = "roundrobin"
    timeout_connect = 2000
    timeout_server  = 30000

    http_check {
      method        = "GET"
      path          = "/healthz"
      expect_status = "200"
    }

    server {
      name    = "app1"
      address = "192.168.1.10"
      port    = 8080
      check   = true
    }
    server {
      name    = "app2"
      address = "192.168.1.11"
      port    = 8080
      check   = true
    }
  }
}
