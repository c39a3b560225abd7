# A real server of lvs_virtual_server.web, checked over HTTP by keepalived,
# with its own SSH host: the provider also puts the VIP on its loopback and
# sets arp_ignore/arp_announce (DR), and removes them on destroy.
resource "lvs_real_server" "web1" {
  virtual_server_id = lvs_virtual_server.web.id

  address = "192.0.2.21"
  weight  = 2

  http_get {
    connect_timeout = 3
    url {
      path        = "/healthz"
      status_code = "200"
    }
  }

  host {
    host = "192.0.2.21"
  }

  # Destroy: weight 0 first, then wait up to 2 minutes for the active
  # connections to end.
  drain_on_destroy = true
  drain_timeout    = "2m"

  # Bounds on each operation (defaults: 10m, and for a delete 10m plus the
  # drain_timeout). A delete that runs out stops the agent call under way
  # and fails naming the host and the step; the next apply completes it.
  timeouts {
    create = "5m"
    delete = "5m"
  }
}

# A plain TCP check, no SSH access to the server.
resource "lvs_real_server" "web2" {
  virtual_server_id = lvs_virtual_server.web.id

  address = "192.0.2.22"

  tcp_check {}
}
