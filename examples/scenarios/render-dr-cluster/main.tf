# A DR load-balancer cluster rendered to files, without touching any host:
# two LVS directors made highly available by VRRP (unicast adverts, for
# networks without multicast), balancing a VIP over two haproxy real
# servers, which carry the VIP on their loopback and route to the
# application servers behind them.
#
#   terraform init && terraform apply
#   terraform output -raw keepalived_master

terraform {
  required_providers {
    lvs = {
      source = "lvsops/lvs"
    }
  }
}

locals {
  vip = "192.0.2.10"

  # The two directors: each advertises to the other.
  directors = {
    master = { address = "192.0.2.2", peer = "192.0.2.3", state = "MASTER", priority = 150 }
    backup = { address = "192.0.2.3", peer = "192.0.2.2", state = "BACKUP", priority = 100 }
  }

  # The haproxy real servers behind the VIP.
  haproxy_hosts = ["192.0.2.21", "192.0.2.22"]

  # The application servers behind haproxy.
  app_servers = { app1 = "10.0.1.11", app2 = "10.0.1.12" }
}

data "lvs_keepalived_config" "director" {
  for_each = local.directors

  interface = "eth0"
  router_id = "lb-${each.key}"

  vrrp_instance {
    name              = "VI_WEB"
    state             = each.value.state
    virtual_router_id = 51
    priority          = each.value.priority
    unicast_src_ip    = each.value.address
    unicast_peers     = [each.value.peer]

    virtual_ipaddress {
      address = "${local.vip}/24"
    }

    # A director that loses its uplink hands the VIP over.
    track_script {
      name     = "chk_uplink"
      script   = "/usr/bin/ping -c 1 -W 1 192.0.2.1"
      interval = 2
      fall     = 2
      rise     = 2
      weight   = -60
    }
  }

  virtual_server {
    address           = local.vip
    port              = 80
    scheduler         = "wlc"
    forwarding_method = "dr"
    delay_loop        = 5

    dynamic "real_server" {
      for_each = local.haproxy_hosts
      content {
        address = real_server.value
        http_get {
          url {
            path        = "/healthz"
            status_code = "200"
          }
        }
      }
    }
  }
}

data "lvs_haproxy_config" "web" {
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

  # The VIP arrives unchanged (DR), so haproxy binds it. haproxy answers
  # the directors' health check on /healthz itself (monitor-uri).
  frontend {
    name            = "www"
    default_backend = "app"
    options         = ["monitor-uri /healthz"]

    bind {
      address = local.vip
      port    = 80
    }
  }

  backend {
    name = "app"

    http_check {
      path = "/"
    }

    dynamic "server" {
      for_each = local.app_servers
      content {
        name    = server.key
        address = server.value
        port    = 8080
        check   = true
      }
    }
  }
}

# keepalived.conf of each director; sensitive because it would hold a VRRP
# password if one were set. `terraform output -raw` prints it.
output "keepalived_master" {
  value     = data.lvs_keepalived_config.director["master"].content
  sensitive = true
}

output "keepalived_backup" {
  value     = data.lvs_keepalived_config.director["backup"].content
  sensitive = true
}

# The sysctl.d fragment and the IPVS table are the same on both directors.
output "director_sysctl" {
  value = data.lvs_keepalived_config.director["master"].sysctl_content
}

output "ipvsadm_rules" {
  value = data.lvs_keepalived_config.director["master"].ipvsadm_rules
}

# haproxy.cfg of each haproxy real server; sensitive because free options
# lines may hold secrets (stats auth). `terraform output -raw` prints it.
output "haproxy_cfg" {
  value     = data.lvs_haproxy_config.web.content
  sensitive = true
}
