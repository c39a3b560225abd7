# LVS virtual server groups and firewall marks, on one director, by direct
# routing to the same two web servers.
#
#   client ──> web VIPs, ports 80 and 443 (a keepalived virtual_server_group)
#                 └── IPVS, round robin, DR ──> web1, web2
#                     one pool, one health check per web server for every member
#   client ──> shop VIP, ports 80 and 443 marked 1 by the agent's nftables rules
#                 └── IPVS fwmark service 1, persistent, DR ──> web1, web2
#                     a client sticks to one web server on both ports
#
# The provider's acceptance test TestAccGuideLVSScenarios applies this file
# to a director VM with a real IPVS kernel and two web servers, sends traffic
# through every VIP and port of the group and through both ports of the
# fwmark service, stops one web server's HTTPS listener to see it leave every
# member of the group at once, and checks that destroy leaves neither an IPVS
# service nor the nftables table behind.

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
  description = "The director's interface on the network of the VIPs."
  type        = string
  default     = "eth0"
}

variable "web_vips" {
  description = "The VIPs of the web group (one per site, say): free addresses on the director's network."
  type        = list(string)
}

variable "shop_vip" {
  description = "The VIP of the fwmark service, a free address on the director's network."
  type        = string
}

variable "web_servers" {
  description = "Web servers by name: their addresses (each serves ports 80 and 443)."
  type        = map(string)
}

provider "lvs" {
  user              = "root"
  private_key_path  = var.ssh_private_key_path
  known_hosts_files = var.known_hosts_files
}

locals {
  # Every service port of the group: each VIP on 80 and on 443.
  web_members = [for p in setproduct(var.web_vips, [80, 443]) : { address = p[0], port = p[1] }]
}

resource "lvs_director" "dir1" {
  ssh {
    host = var.director
  }
  interface = var.interface
  router_id = "dir1"

  # VRRP holds every VIP on the director (a second director in BACKUP
  # would take them all over together).
  vrrp_instance {
    name              = "VI_SITES"
    state             = "MASTER"
    virtual_router_id = 55
    priority          = 150
    advert_int        = 1
    dynamic "virtual_ipaddress" {
      for_each = concat(var.web_vips, [var.shop_vip])
      content {
        address = "${virtual_ipaddress.value}/24"
      }
    }
  }
}

# One virtual server for all the web VIPs and both ports: keepalived
# programs a kernel service per member, all with the same real servers, and
# runs one health check per real server for all of them.
resource "lvs_virtual_server" "web" {
  directors = [lvs_director.dir1.id]
  group {
    name = "web"
    dynamic "member" {
      for_each = local.web_members
      content {
        address = member.value.address
        port    = member.value.port
      }
    }
  }
  scheduler         = "rr"
  forwarding_method = "dr"
  delay_loop        = 3
  connect_timeout   = 2
}

resource "lvs_real_server" "web" {
  for_each = var.web_servers

  virtual_server_id = lvs_virtual_server.web.id
  address           = each.value
  # No port: a group's members have several, and direct routing keeps the
  # port each packet was sent to.

  # One check for every member: a web server whose HTTPS listener stops
  # leaves all the group's services, port 80 ones included.
  tcp_check {
    connect_port = 443
  }

  # The real server's side of DR: every VIP of the group on lo, and the
  # ARP settings. A group service has no address of its own, so the host
  # block names them.
  host {
    host = each.value
    vips = var.web_vips
  }
}

# A fwmark service: the agent marks TCP to the shop VIP on 80 and 443 with
# mark 1 (nftables, table inet lvs_agent), and IPVS balances the marked
# packets as one service. With persistence, a client's connections to
# both ports go to the same web server for 5 minutes after its last one.
resource "lvs_virtual_server" "shop" {
  directors           = [lvs_director.dir1.id]
  fwmark              = 1
  scheduler           = "rr"
  forwarding_method   = "dr"
  persistence_timeout = 300
  delay_loop          = 3
  connect_timeout     = 2

  fwmark_match {
    protocol     = "tcp"
    destinations = [var.shop_vip]
    ports        = [80, 443]
  }
}

resource "lvs_real_server" "shop" {
  for_each = var.web_servers

  virtual_server_id = lvs_virtual_server.shop.id
  address           = each.value

  tcp_check {
    connect_port = 80
  }

  # A fwmark service has no address either: the VIP the marks select.
  host {
    host = each.value
    vips = [var.shop_vip]
  }
}

output "web_vips" {
  value = var.web_vips
}

output "shop_vip" {
  value = var.shop_vip
}
