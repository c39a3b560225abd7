# A complete load-balancer cluster on real hosts, as `make demo` applies it
# to the local lab (internal/lab/demo.sh writes terraform.tfvars):
#
#   client ──> VIP:80 on dir1 (MASTER) / dir2 (BACKUP)   two LVS directors in VRRP
#                 └── IPVS, round robin, direct routing ──> rs1:80, rs2:80
#                                                             (VIP on lo, ARP sysctls)
#   client ──> hap:80 (haproxy frontend "web") ──────────────> rs1:80, rs2:80
#
# Directors are the lvs_director resources; the virtual server names them by
# id and the real servers belong to the virtual server. Each real server's
# `host` block lets the provider set up its side of direct routing too. The
# split-brain check counts the MASTERs of VI_WEB after every plan and apply.

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

variable "interface" {
  description = "The directors' interface on the shared network."
  type        = string
  default     = "eth0"
}

variable "directors" {
  description = "The two directors' addresses: the first starts as MASTER."
  type        = list(string)
}

variable "real_servers" {
  description = "Real servers by name: their addresses (each serves HTTP on port 80)."
  type        = map(string)
}

variable "haproxy_host" {
  description = "The host that runs the haproxy frontend."
  type        = string
}

variable "vip" {
  description = "The virtual IP, a free address on the directors' network."
  type        = string
}

variable "vip_prefix_length" {
  description = "Prefix length of the VIP on the directors' interface."
  type        = number
  default     = 24
}

provider "lvs" {
  user              = "root"
  private_key_path  = var.ssh_private_key_path
  known_hosts_files = var.known_hosts_files
  connect_timeout   = "30s"
  command_timeout   = "5m"
}

locals {
  # dir1 is MASTER while it is up; dir2 takes the VIP over when it is not.
  directors = {
    dir1 = { host = var.directors[0], state = "MASTER", priority = 150 }
    dir2 = { host = var.directors[1], state = "BACKUP", priority = 100 }
  }
}

resource "lvs_director" "dir" {
  for_each = local.directors

  ssh {
    host = each.value.host
  }
  interface = var.interface
  router_id = each.key

  vrrp_instance {
    name              = "VI_WEB"
    state             = each.value.state
    virtual_router_id = 51
    priority          = each.value.priority
    advert_int        = 1
    virtual_ipaddress {
      address = "${var.vip}/${var.vip_prefix_length}"
    }
  }
}

# The service on both directors: keepalived programs IPVS and checks the
# real servers over TCP.
resource "lvs_virtual_server" "web" {
  directors = [for d in lvs_director.dir : d.id]

  address           = var.vip
  port              = 80
  scheduler         = "rr"
  forwarding_method = "dr"
  delay_loop        = 3
  connect_timeout   = 2
}

resource "lvs_real_server" "rs" {
  for_each = var.real_servers

  virtual_server_id = lvs_virtual_server.web.id
  address           = each.value

  tcp_check {}

  # The real server's own side of direct routing: the VIP on lo, and
  # arp_ignore/arp_announce so that it never answers ARP for the VIP.
  host {
    host = each.value
  }
}

# An haproxy tier beside the directors: one frontend over the same servers.
resource "lvs_haproxy" "hap" {
  ssh {
    host = var.haproxy_host
  }

  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 30000
    timeout_server  = 30000
  }
}

resource "lvs_haproxy_frontend" "web" {
  ssh {
    host = var.haproxy_host
  }
  name = "web"
  mode = "http"

  bind {
    address = var.haproxy_host
    port    = 80
  }

  backend {
    balance = "roundrobin"

    dynamic "server" {
      for_each = var.real_servers
      content {
        name    = server.key
        address = server.value
        port    = 80
        check   = true
      }
    }
  }

  depends_on = [lvs_haproxy.hap]
}

# Split brain: VI_WEB's MASTERs counted on both directors, read after the
# cluster is built; the check reports anything but one MASTER as a warning.
data "lvs_vrrp_masters" "web" {
  hosts          = var.directors
  instance_names = ["VI_WEB"]
  depends_on     = [lvs_real_server.rs]
}

check "one_vrrp_master" {
  assert {
    condition     = data.lvs_vrrp_masters.web.all_have_one_master
    error_message = "VRRP instances without exactly one MASTER: ${jsonencode(data.lvs_vrrp_masters.web.instances)}"
  }
}

data "lvs_director_status" "dir" {
  for_each = local.directors

  ssh {
    host = each.value.host
  }
  depends_on = [lvs_real_server.rs]
}

output "vip" {
  value = var.vip
}

output "vrrp_masters" {
  description = "MASTERs of VI_WEB (1 is healthy) and each director's state."
  value = {
    for i in data.lvs_vrrp_masters.web.instances : i.name => {
      masters = i.masters
      states  = i.states
    }
  }
}

output "ipvs" {
  description = "Each director's IPVS table: service -> real servers and their health."
  value = {
    for name, s in data.lvs_director_status.dir : name => {
      for svc in s.ipvs : svc.key => [for d in svc.destination : "${d.address}:${d.port} ${d.health}"]
    }
  }
}
