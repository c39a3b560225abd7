# The MASTER director of a DR pair: it holds the VIP and balances port 80
# over two real servers that carry the VIP on their loopback.
data "lvs_keepalived_config" "master" {
  interface = "eth0"
  router_id = "lb1"

  vrrp_instance {
    name              = "VI_WEB"
    state             = "MASTER"
    virtual_router_id = 51
    priority          = 150

    virtual_ipaddress {
      address = "192.0.2.10/24"
    }

    # Give up 60 points of priority while the uplink's gateway does not
    # answer, so that a BACKUP with priority 100 takes over.
    track_script {
      name     = "chk_uplink"
      script   = "/usr/bin/ping -c 1 -W 1 192.0.2.1"
      interval = 2
      fall     = 2
      rise     = 2
      weight   = -60
    }
  }

  virtual_server {
    address           = "192.0.2.10"
    port              = 80
    scheduler         = "wlc"
    forwarding_method = "dr"
    delay_loop        = 5

    real_server {
      address = "192.0.2.21"
      tcp_check {
        connect_timeout = 3
      }
    }

    real_server {
      address = "192.0.2.22"
      http_get {
        url {
          path        = "/healthz"
          status_code = "200"
        }
      }
    }
  }
}

# keepalived.conf, e.g. for cloud-init. It is sensitive because it holds
# the VRRP password when one is set.
output "keepalived_conf" {
  value     = data.lvs_keepalived_config.master.content
  sensitive = true
}

# The kernel settings a DR director needs, as a sysctl.d fragment.
output "sysctl_conf" {
  value = data.lvs_keepalived_config.master.sysctl_content
}

# The IPVS table keepalived will program, as ipvsadm-save rules.
output "ipvsadm_rules" {
  value = data.lvs_keepalived_config.master.ipvsadm_rules
}
