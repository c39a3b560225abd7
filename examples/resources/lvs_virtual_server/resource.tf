# A DR web service on both directors of a VRRP pair. The directors are
# lvs_director resources; their ids (user@host:port) name them, and the
# provider's SSH settings reach them.
resource "lvs_virtual_server" "web" {
  directors = [lvs_director.lb1.id, lvs_director.lb2.id]

  address             = "192.0.2.10"
  port                = 80
  scheduler           = "wlc"
  forwarding_method   = "dr"
  persistence_timeout = 300

  # Health-check defaults for the real servers (keepalived engine).
  delay_loop      = 6
  connect_timeout = 3
  retry           = 2

  # Takes the traffic while no real server is up. With host, the sorry
  # server's own host gets its DR side too: the VIP on lo, arp_ignore and
  # arp_announce.
  sorry_server {
    address = "192.0.2.50"
    host {
      host = "192.0.2.50"
    }
  }
}

# A firewall-mark service (packets marked 7 by an nftables rule), reached
# with SSH settings of its own for the directors.
resource "lvs_virtual_server" "mail" {
  directors = ["10.0.0.2", "10.0.0.3"]

  fwmark              = 7
  scheduler           = "sh"
  scheduler_fallback  = true
  persistence_timeout = 600

  ssh {
    user             = "deploy"
    private_key_path = "~/.ssh/lb_deploy"
  }
}

# A firewall-mark service whose marks the provider sets too: HTTP and
# HTTPS to the VIP are one service (a client sticks to one real server on
# both ports). The agent programs the match in nftables (table
# inet lvs_agent) over netlink; the directors need no nft binary.
resource "lvs_virtual_server" "web_fw" {
  directors = [lvs_director.lb1.id, lvs_director.lb2.id]

  fwmark              = 80
  scheduler           = "wlc"
  forwarding_method   = "dr"
  persistence_timeout = 300

  fwmark_match {
    protocol     = "tcp"
    destinations = ["192.0.2.40"]
    ports        = [80, 443]
  }
}

# A keepalived virtual_server_group: one service over several VIPs (an
# address, a range of four) on port 443, each a kernel IPVS service with
# the same scheduler and real servers. Members change in place; the
# directors must use the keepalived engine.
resource "lvs_virtual_server" "tls" {
  directors = [lvs_director.lb1.id, lvs_director.lb2.id]

  scheduler         = "wrr"
  forwarding_method = "dr"

  group {
    name = "tls"
    member {
      address = "192.0.2.20"
      port    = 443
    }
    member {
      address   = "192.0.2.21"
      range_end = 24
      port      = 443
    }
  }
}

# A whole service with its real servers inline, as in keepalived.conf:
# one write per director however many servers it has. A weight change
# touches only that destination (a keepalived reload, or one netlink
# update). Such a service owns all its destinations: no lvs_real_server
# may name it.
resource "lvs_virtual_server" "api" {
  directors = [lvs_director.lb1.id, lvs_director.lb2.id]

  address           = "192.0.2.30"
  port              = 8080
  scheduler         = "wrr"
  forwarding_method = "dr"
  delay_loop        = 6

  real_server {
    address = "192.0.2.101"
    weight  = 3
    tcp_check {
      connect_timeout = 3
    }
  }

  real_server {
    address = "192.0.2.102"
    http_get {
      url {
        path        = "/healthz"
        status_code = "200"
      }
    }
    # Drain before the server is removed from the service.
    drain_on_destroy = true
    drain_timeout    = "1m"
  }

  # With its host: the VIP on lo and the ARP sysctls set up there too.
  real_server {
    address = "192.0.2.103"
    host {
      host = "192.0.2.103"
    }
  }
}
