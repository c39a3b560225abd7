# haproxy at layer 4 and layer 7 on one host:
#
#   client ──> edge:80   (http) ── Host static.example.com ──> backend static: web2
#                               └─ anything else ────────────> backend app: web1
#   client ──> edge:5000 (tcp)  ── least connections ────────> web1:80, web2:80
#
# The provider's acceptance test TestAccGuideHAProxyScenarios applies this
# file and proves each route with traffic.

terraform {
  required_providers {
    lvs = {
      source = "lvsops/lvs"
    }
  }
}

variable "ssh_private_key_path" {
  description = "Private key that logs in as root on every host."
  type        = string
}

variable "known_hosts_files" {
  description = "known_hosts files naming every host's key."
  type        = list(string)
}

variable "edge" {
  description = "The haproxy host's address."
  type        = string
}

variable "web_servers" {
  description = "The web servers' addresses: web1 and web2 (each serves HTTP on port 80)."
  type        = map(string)
}

provider "lvs" {
  user              = "root"
  private_key_path  = var.ssh_private_key_path
  known_hosts_files = var.known_hosts_files
}

resource "lvs_haproxy" "edge" {
  ssh {
    host = var.edge
  }
  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 30000
    timeout_server  = 30000
  }
}

# Layer 7: backends of their own, which any frontend of the host may use.
resource "lvs_haproxy_backend" "app" {
  ssh {
    host = var.edge
  }
  name    = "app"
  balance = "roundrobin"
  server {
    name    = "web1"
    address = var.web_servers["web1"]
    port    = 80
    check   = true
  }
  depends_on = [lvs_haproxy.edge]
}

resource "lvs_haproxy_backend" "static" {
  ssh {
    host = var.edge
  }
  name    = "static"
  balance = "roundrobin"
  server {
    name    = "web2"
    address = var.web_servers["web2"]
    port    = 80
    check   = true
  }
  depends_on = [lvs_haproxy.edge]
}

resource "lvs_haproxy_frontend" "http" {
  ssh {
    host = var.edge
  }
  name = "http"
  mode = "http"
  bind {
    address = var.edge
    port    = 80
  }
  # Requests for the static host go to the static backend; the rest to app.
  acl {
    name      = "is_static"
    criterion = "hdr(host) -i static.example.com"
  }
  use_backend {
    backend   = lvs_haproxy_backend.static.name
    condition = "is_static"
  }
  default_backend = lvs_haproxy_backend.app.name
}

# Layer 4: TCP connections, balanced without looking inside; the
# frontend's own backend.
resource "lvs_haproxy_frontend" "tcp" {
  ssh {
    host = var.edge
  }
  name = "tcp"
  mode = "tcp"
  bind {
    address = var.edge
    port    = 5000
  }
  backend {
    name    = "tcp_servers"
    balance = "leastconn"
    dynamic "server" {
      for_each = var.web_servers
      content {
        name    = server.key
        address = server.value
        port    = 80
        check   = true
      }
    }
  }
  depends_on = [lvs_haproxy.edge]
}
