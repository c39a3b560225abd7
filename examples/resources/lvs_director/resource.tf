# Two directors sharing one VIP by VRRP: dir1 is MASTER while it is up,
# dir2 takes the VIP over when it is not.
provider "lvs" {
  user              = "root"
  private_key_path  = "~/.ssh/id_ed25519"
  known_hosts_files = ["~/.ssh/known_hosts"]
}

resource "lvs_director" "dir1" {
  ssh {
    host = "10.0.0.11"
  }
  interface = "eth0"
  router_id = "dir1"

  vrrp_instance {
    name              = "VI_WEB"
    state             = "MASTER"
    virtual_router_id = 51
    priority          = 120
    advert_int        = 1
    virtual_ipaddress {
      address = "10.0.0.100/24"
    }
  }

  sysctl {
    key    = "net.ipv4.ip_nonlocal_bind"
    value  = "1"
    reason = "services may bind the VIP before this director holds it"
  }

  # Replies from the backend network leave through its own gateway, in a
  # table of their own. keepalived installs the route and the rule
  # (proto keepalived); one deleted by hand shows in the plan and the apply
  # puts it back.
  static_route {
    to     = "0.0.0.0/0"
    via    = "10.0.1.1"
    device = "eth1"
    table  = 100
  }
  static_rule {
    from     = "10.0.1.0/24"
    table    = 100
    priority = 1000
  }
}

resource "lvs_director" "dir2" {
  ssh {
    host = "10.0.0.12"
  }
  interface = "eth0"
  router_id = "dir2"

  vrrp_instance {
    name              = "VI_WEB"
    state             = "BACKUP"
    virtual_router_id = 51
    priority          = 100
    advert_int        = 1
    virtual_ipaddress {
      address = "10.0.0.100/24"
    }
  }

  sysctl {
    key    = "net.ipv4.ip_nonlocal_bind"
    value  = "1"
    reason = "services may bind the VIP before this director holds it"
  }
}

# A single director without VRRP: the classic `ip addr add VIP/24 dev eth0`
# beside the IPVS rules, for both engines. The agent holds the address (a
# hand removal shows in the plan), restores it at boot and removes it with
# the director.
resource "lvs_director" "single" {
  ssh {
    host = "10.0.0.20"
  }
  interface = "eth0"
  engine    = "netlink"

  static_address {
    address = "10.0.0.200/24"
  }

  # An address for the link only (keepalived's `static_ipaddress ... scope
  # link`): never picked as the source of routed traffic.
  static_address {
    address = "192.168.77.1/24"
    device  = "eth1"
    scope   = "link"
  }
}
