# LVS-TUN: IP-in-IP tunnelling to real servers anywhere IP reaches.
#
#   client ──> VIP:80 on dir1
#                 └── IPVS, round robin, tun (ipip) ──> web servers, on any routed network
#                        (each: tunl0 with the VIP, rp_filter off; replies go to the client directly)
#
# The provider's acceptance test TestAccGuideLVSScenarios applies this file
# to a director VM and a real-server VM, both with a real kernel, and sends
# traffic through the VIP.

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
    name              = "VI_TUN"
    state             = "MASTER"
    virtual_router_id = 55
    priority          = 150
    advert_int        = 1
    virtual_ipaddress {
      address = "${var.vip}/24"
    }
  }
}

resource "lvs_virtual_server" "web" {
  directors         = [lvs_director.dir1.id]
  address           = var.vip
  port              = 80
  scheduler         = "rr"
  forwarding_method = "tun"
  tunnel_type       = "ipip"
  delay_loop        = 3
  connect_timeout   = 2
}

resource "lvs_real_server" "web" {
  for_each = var.web_servers

  virtual_server_id = lvs_virtual_server.web.id
  address           = each.value

  # The director's check connects to the real server's own address; the
  # tunnelled traffic goes to the VIP on its tunl0.
  tcp_check {}

  # The real server's side of TUN: the ipip module loaded, the VIP on
  # tunl0, rp_filter off (a decapsulated packet arrives on tunl0 with a
  # source the host routes elsewhere), and the ARP sysctls.
  host {
    host = each.value
  }
}

output "vip" {
  value = var.vip
}
