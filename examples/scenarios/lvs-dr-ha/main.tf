# LVS-DR behind a keepalived VRRP pair, built with the ha-cluster module:
#
#   client ──> VIP:80 on dir1 (MASTER) / dir2 (BACKUP)
#                 └── IPVS, round robin, direct routing ──> web1:80, web2:80
#                                                            (VIP on lo, ARP sysctls)
#
# The provider's acceptance test TestAccModuleHACluster applies this file to
# two director VMs and two web servers, sends traffic through the VIP, kills
# the MASTER's keepalived and measures the failover.

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
  description = "The directors' interface on the network of the VIP."
  type        = string
  default     = "eth0"
}

variable "directors" {
  description = "The two directors' addresses; the first is the preferred MASTER."
  type        = list(string)
}

variable "vip" {
  description = "The virtual IP: a free address on the directors' network."
  type        = string
}

variable "web_servers" {
  description = "The real servers by name: their addresses (each serves HTTP on port 80)."
  type        = map(string)
}

provider "lvs" {
  user              = "root"
  private_key_path  = var.ssh_private_key_path
  known_hosts_files = var.known_hosts_files
  connect_timeout   = "20s"
  command_timeout   = "5m"
}

module "web" {
  source = "../../modules/ha-cluster"

  name      = "web"
  interface = var.interface
  directors = {
    dir1 = { host = var.directors[0], priority = 150 }
    dir2 = { host = var.directors[1], priority = 100 }
  }
  services = {
    http = {
      vip       = var.vip
      port      = 80
      scheduler = "rr"
      # keepalived drops a server whose port 80 stops answering, and puts
      # it back when it answers again.
      health_check = { type = "tcp" }
      real_servers = {
        for name, addr in var.web_servers : name => { address = addr }
      }
    }
  }
  split_brain_settle_seconds = 30
}

output "masters" {
  description = "The director holding the VIP."
  value       = module.web.masters
}

output "split_brain" {
  value = module.web.split_brain
}

output "ipvs" {
  description = "Each director's IPVS table, as the agents read it."
  value       = module.web.ipvs
}
