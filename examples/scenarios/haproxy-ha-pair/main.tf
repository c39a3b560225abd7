# keepalived + haproxy HA: two load balancers share a VIP by VRRP, each runs
# haproxy bound to the VIP, and a tracking script moves the VIP away from a
# host whose haproxy died:
#
#   client ──> VIP:80 on lb1 (MASTER) / lb2 (BACKUP)
#                 └── haproxy "web", round robin ──> web1:80, web2:80
#
# No IPVS: keepalived only holds the address. The provider's acceptance test
# TestAccGuideHAProxyScenarios applies this file to two hosts, sends traffic
# through the VIP, kills the MASTER's haproxy and measures the failover.

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
  description = "The load balancers' interface on the network of the VIP."
  type        = string
  default     = "eth0"
}

variable "load_balancers" {
  description = "The two load balancers' addresses; the first is the preferred MASTER."
  type        = list(string)
}

variable "vip" {
  description = "The virtual IP, a free address on the load balancers' network."
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

locals {
  load_balancers = {
    lb1 = { host = var.load_balancers[0], state = "MASTER", priority = 150 }
    lb2 = { host = var.load_balancers[1], state = "BACKUP", priority = 100 }
  }
}

resource "lvs_director" "lb" {
  for_each = local.load_balancers

  ssh {
    host = each.value.host
  }
  interface = var.interface
  router_id = each.key

  # haproxy on the BACKUP binds the VIP it does not hold yet, so that it
  # serves the moment the VIP arrives.
  sysctl {
    key    = "net.ipv4.ip_nonlocal_bind"
    value  = "1"
    reason = "haproxy binds the VIP on both load balancers"
  }

  vrrp_instance {
    name              = "VI_HAP"
    state             = each.value.state
    virtual_router_id = 52
    priority          = each.value.priority
    advert_int        = 1
    virtual_ipaddress {
      address = "${var.vip}/24"
    }

    # While haproxy is down here, the priority drops by 60: lb1 falls to
    # 90, under lb2's 100, and lb2 takes the VIP. Two failures in a row
    # count, so one slow check does not move it.
    track_script {
      name     = "chk_haproxy"
      script   = "/usr/bin/pgrep -F /run/haproxy.pid"
      interval = 1
      fall     = 2
      rise     = 2
      weight   = -60
    }
  }
}

resource "lvs_haproxy" "lb" {
  for_each = local.load_balancers

  ssh {
    host = each.value.host
  }
  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 30000
    timeout_server  = 30000
  }
}

resource "lvs_haproxy_frontend" "web" {
  for_each = local.load_balancers

  ssh {
    host = each.value.host
  }
  name = "web"
  mode = "http"
  bind {
    address = var.vip
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
        inter   = 1000
      }
    }
  }

  # The VIP is bindable once the director's sysctl is in place.
  depends_on = [lvs_haproxy.lb, lvs_director.lb]
}

# One MASTER of VI_HAP, checked after every plan and apply.
data "lvs_vrrp_masters" "hap" {
  hosts          = var.load_balancers
  instance_names = ["VI_HAP"]
  depends_on     = [lvs_director.lb]
}

check "one_vrrp_master" {
  assert {
    condition     = data.lvs_vrrp_masters.hap.all_have_one_master
    error_message = "VRRP instances without exactly one MASTER: ${jsonencode(data.lvs_vrrp_masters.hap.instances)}"
  }
}

output "vip" {
  value = var.vip
}
