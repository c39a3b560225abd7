# ha-cluster: two or more LVS directors in VRRP holding the VIPs of a set
# of virtual services, each with its real servers (and, for DR and TUN,
# their own side of the forwarding), plus an optional haproxy tier.
#
#   client ──> VIP:port on the MASTER director ──IPVS──> real servers
#              (the other directors are BACKUP; one of them takes the VIPs
#              over within about three advert_int when the MASTER fails)

locals {
  instance = "VI_${upper(replace(var.name, "-", "_"))}"

  # The director of the highest priority starts as MASTER, the others as
  # BACKUP; the priorities decide every later election.
  top_priority = max([for d in values(var.directors) : d.priority]...)

  vips = distinct([for s in values(var.services) : s.vip])

  real_servers = merge([
    for sname, s in var.services : {
      for rname, r in s.real_servers : "${sname}/${rname}" => merge(r, {
        service     = sname
        manage_host = coalesce(r.manage_host, s.forwarding_method != "nat")
        check       = s.health_check
      })
    }
  ]...)

  haproxy_frontends = var.haproxy == null ? {} : merge([
    for h in var.haproxy.hosts : {
      for fname, f in var.haproxy.frontends : "${h}/${fname}" => merge(f, { host = h, name = fname })
    }
  ]...)
}

resource "lvs_director" "this" {
  for_each = var.directors

  ssh {
    host = each.value.host
  }
  interface = var.interface
  router_id = each.key
  engine    = var.engine

  vrrp_instance {
    name              = local.instance
    state             = each.value.priority == local.top_priority ? "MASTER" : "BACKUP"
    virtual_router_id = var.virtual_router_id
    priority          = each.value.priority
    advert_int        = var.advert_int

    dynamic "virtual_ipaddress" {
      for_each = local.vips
      content {
        address = "${virtual_ipaddress.value}/${var.vip_prefix_length}"
      }
    }
  }
}

resource "lvs_virtual_server" "this" {
  for_each = var.services

  directors = [for d in lvs_director.this : d.id]

  address             = each.value.vip
  port                = each.value.port
  protocol            = each.value.protocol
  scheduler           = each.value.scheduler
  forwarding_method   = each.value.forwarding_method
  persistence_timeout = each.value.persistence_timeout
}

resource "lvs_real_server" "this" {
  for_each = local.real_servers

  virtual_server_id = lvs_virtual_server.this[each.value.service].id
  address           = each.value.address
  port              = each.value.port
  weight            = each.value.weight

  # Health checks run in keepalived, so only on the keepalived engine.
  dynamic "tcp_check" {
    for_each = var.engine == "keepalived" && each.value.check.type == "tcp" ? [1] : []
    content {}
  }
  dynamic "http_get" {
    for_each = var.engine == "keepalived" && each.value.check.type == "http" ? [1] : []
    content {
      url {
        path        = each.value.check.path
        status_code = each.value.check.status_code
      }
    }
  }

  # The real server's side: for DR the VIP on lo and arp_ignore/arp_announce,
  # for TUN the tunnel device; set up over SSH to the server's address.
  dynamic "host" {
    for_each = each.value.manage_host ? [each.value.address] : []
    content {
      host = host.value
    }
  }
}

resource "lvs_haproxy" "this" {
  for_each = var.haproxy == null ? toset([]) : toset(var.haproxy.hosts)

  ssh {
    host = each.value
  }
  defaults {
    mode            = var.haproxy.mode
    timeout_connect = 5000
    timeout_client  = 30000
    timeout_server  = 30000
  }
}

resource "lvs_haproxy_frontend" "this" {
  for_each = local.haproxy_frontends

  ssh {
    host = each.value.host
  }
  name = each.value.name
  mode = var.haproxy.mode

  bind {
    address = each.value.bind_address
    port    = each.value.port
  }

  backend {
    balance = each.value.balance
    dynamic "server" {
      for_each = each.value.servers
      content {
        name    = server.key
        address = server.value.address
        port    = server.value.port
        check   = true
      }
    }
  }

  depends_on = [lvs_haproxy.this]
}

# Split brain: the MASTERs of the instance, counted on every director once
# the cluster is built.
data "lvs_vrrp_masters" "this" {
  hosts          = [for d in values(var.directors) : d.host]
  instance_names = [local.instance]
  settle_seconds = var.split_brain_settle_seconds
  depends_on     = [lvs_real_server.this]
}

check "one_vrrp_master" {
  assert {
    condition     = data.lvs_vrrp_masters.this.all_have_one_master
    error_message = "${local.instance} has not exactly one MASTER: ${jsonencode(data.lvs_vrrp_masters.this.instances)}"
  }
}

data "lvs_director_status" "this" {
  for_each = var.directors

  ssh {
    host = each.value.host
  }
  depends_on = [lvs_real_server.this]
}
