# LVS-NAT: the director is the real servers' gateway.
#
#   client (outside) ──> VIP:80 on dir1
#                          └── IPVS, round robin, NAT ──> web1:80, web2:80 (inside)
#   web1, web2 ── default route via dir1's inside address ──> replies un-NATed by dir1
#
# The provider's acceptance test TestAccGuideLVSScenarios applies this file
# to a director VM with a real IPVS kernel and two web servers, and sends
# traffic through the VIP from a client on the outside network.

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
  description = "The director's interface on the outside network of the VIP."
  type        = string
  default     = "eth0"
}

variable "vip" {
  description = "The virtual IP clients connect to, on the outside network."
  type        = string
}

variable "vip_prefix_length" {
  description = "Prefix length of the outside network."
  type        = number
  default     = 24
}

variable "gateway" {
  description = "The director's inside address: the real servers' default route."
  type        = string
}

variable "web_servers" {
  description = "Web servers by name: their inside addresses (each serves HTTP on port 80)."
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

  # A single director: VRRP holds the VIP on it. A second director in
  # BACKUP would take it over, and then the inside gateway must move with
  # it (a second instance holding the gateway address, in a sync group).
  vrrp_instance {
    name              = "VI_NAT"
    state             = "MASTER"
    virtual_router_id = 53
    priority          = 150
    advert_int        = 1
    virtual_ipaddress {
      address = "${var.vip}/${var.vip_prefix_length}"
    }
  }
}

# With NAT the director rewrites the destination of each request to the
# chosen real server and the source of each reply back to the VIP, so it
# needs net.ipv4.ip_forward = 1, which the provider sets on the director.
resource "lvs_virtual_server" "web" {
  directors         = [lvs_director.dir1.id]
  address           = var.vip
  port              = 80
  scheduler         = "rr"
  forwarding_method = "nat"
  delay_loop        = 3
  connect_timeout   = 2
}

resource "lvs_real_server" "web" {
  for_each = var.web_servers

  virtual_server_id = lvs_virtual_server.web.id
  address           = each.value
  port              = 80

  tcp_check {}

  # The real server's side of NAT: its default route through the director,
  # so that replies pass the director on their way back.
  host {
    host    = each.value
    gateway = var.gateway
  }
}

output "vip" {
  value = var.vip
}
