# LVS-DR in front of an haproxy tier: IPVS spreads connections over haproxy
# hosts, which proxy HTTP to the web servers.
#
#   client ──> VIP:80 on dir1
#                 └── IPVS, weighted round robin, direct routing ──> hap1, hap2
#                        (each: VIP on lo, ARP sysctls, haproxy bound to VIP:80)
#                           └── haproxy, round robin ──> web1:80, web2:80
#
# The provider's acceptance test TestAccGuideLVSScenarios applies this file
# to a director VM with a real IPVS kernel, two haproxy hosts and two web
# servers, and proves that the traffic through the VIP uses both haproxy
# hosts and reaches both web servers.

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

variable "director" {
  description = "The director's address."
  type        = string
}

variable "interface" {
  description = "The director's interface on the network of the VIP."
  type        = string
  default     = "eth0"
}

variable "vip" {
  description = "The virtual IP, a free address on the director's network."
  type        = string
}

variable "haproxy_hosts" {
  description = "The haproxy tier by name: its hosts' addresses, on the director's network."
  type        = map(string)
}

variable "web_servers" {
  description = "Web servers by name: their addresses (each serves HTTP on port 80)."
  type        = map(string)
}

provider "lvs" {
  user              = "root"
  private_key_path  = var.ssh_private_key_path
  known_hosts_files = var.known_hosts_files
}

resource "lvs_director" "dir1" {
  ssh {
    host = var.director
  }
  interface = var.interface
  router_id = "dir1"

  vrrp_instance {
    name              = "VI_EDGE"
    state             = "MASTER"
    virtual_router_id = 54
    priority          = 150
    advert_int        = 1
    virtual_ipaddress {
      address = "${var.vip}/24"
    }
  }
}

resource "lvs_virtual_server" "edge" {
  directors         = [lvs_director.dir1.id]
  address           = var.vip
  port              = 80
  scheduler         = "wrr"
  forwarding_method = "dr"
  delay_loop        = 3
  connect_timeout   = 2
}

# Each haproxy host is a DR real server: the host block puts the VIP on lo
# (so haproxy can bind VIP:80) and the ARP sysctls that keep it silent.
resource "lvs_real_server" "haproxy" {
  for_each = var.haproxy_hosts

  virtual_server_id = lvs_virtual_server.edge.id
  address           = each.value
  weight            = 1

  # The director sends connections to this haproxy only while its frontend
  # accepts TCP on the host's own address (keepalived's checks connect to
  # the real server's address, not the VIP).
  tcp_check {}

  host {
    host = each.value
  }
}

resource "lvs_haproxy" "tier" {
  for_each = var.haproxy_hosts

  ssh {
    host = each.value
  }
  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 30000
    timeout_server  = 30000
  }
}

resource "lvs_haproxy_frontend" "web" {
  for_each = var.haproxy_hosts

  ssh {
    host = each.value
  }
  name = "web"
  mode = "http"
  # The VIP for the traffic the director sends, the host's own address for
  # the director's health check.
  bind {
    address = var.vip
    port    = 80
  }
  bind {
    address = each.value
    port    = 80
  }
  backend {
    name    = "web_servers"
    balance = "roundrobin"
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

  # haproxy binds the VIP once the real-server side put it on lo.
  depends_on = [lvs_haproxy.tier, lvs_real_server.haproxy]
}

output "vip" {
  value = var.vip
}
