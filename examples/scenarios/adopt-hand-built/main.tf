# Adopting a cluster built by hand: a director running its own
# keepalived.conf (VRRP and an IPVS DR service) and haproxy.cfg, and two
# real servers whose VIP on lo and ARP sysctls were set with ip and sysctl
# (the files under hand-built/).
#
# This file holds only the provider and import blocks. Terraform writes the
# resources:
#
#   terraform plan -generate-config-out=generated.tf
#   terraform apply
#
# The apply takes every object over without changing what runs, and the plan
# after it is empty. The provider's acceptance test
# TestAccAdoptByGeneratedConfig does exactly this on a director VM with a
# real IPVS kernel, under traffic through the VIP and haproxy.

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

variable "vip" {
  description = "The VIP of the hand-built DR service."
  type        = string
}

variable "web_servers" {
  description = "The real servers' addresses: rs1 and rs2."
  type        = map(string)
}

provider "lvs" {
  user              = "root"
  private_key_path  = var.ssh_private_key_path
  known_hosts_files = var.known_hosts_files
}

locals {
  # The hosts as import IDs name them: user@host:port.
  director = "root@${var.director}:22"
  service  = "tcp/${var.vip}:80"
}

# The director: its keepalived.conf's global_defs and vrrp_instance blocks.
import {
  to = lvs_director.dir1
  id = local.director
}

# The virtual_server block, with its delay_loop, read from the file.
import {
  to = lvs_virtual_server.web
  id = "${local.service}@${local.director}"
}

# Each real_server block, with its TCP_CHECK; after ";host=" the real
# server's own host, whose VIP on lo and ARP sysctls the apply adopts.
import {
  to = lvs_real_server.rs1
  id = "${local.service}/${var.web_servers["rs1"]}:80@${local.director};host=root@${var.web_servers["rs1"]}:22"
}

import {
  to = lvs_real_server.rs2
  id = "${local.service}/${var.web_servers["rs2"]}:80@${local.director};host=root@${var.web_servers["rs2"]}:22"
}

# haproxy.cfg: its global and defaults sections...
import {
  to = lvs_haproxy.dir1
  id = local.director
}

# ...its frontends...
import {
  to = lvs_haproxy_frontend.web
  id = "web@${local.director}"
}

import {
  to = lvs_haproxy_frontend.alt
  id = "alt@${local.director}"
}

# ...and the backend both use. A backend that one frontend alone uses as its
# default_backend (admin_rs) is that frontend's own: it comes with the
# frontend, with no import of its own.
import {
  to = lvs_haproxy_backend.app
  id = "app@${local.director}"
}

import {
  to = lvs_haproxy_frontend.admin
  id = "admin@${local.director}"
}
