# terraform test: the module's shape and input validation, with a mock
# provider (no hosts: "apply" runs against the mock). The lab acceptance test in provider/ applies it to
# real directors with traffic.

mock_provider "lvs" {
  # Ids in the provider's own forms: lvs_real_server checks the id of its
  # virtual server.
  mock_resource "lvs_virtual_server" {
    defaults = {
      id = "tcp/10.0.0.100:80@10.0.0.2,10.0.0.3"
    }
  }
  mock_data "lvs_vrrp_masters" {
    defaults = {
      all_have_one_master = true
      split_brain         = false
    }
  }
}

variables {
  name = "web-tier"
  directors = {
    lb1 = { host = "10.0.0.2", priority = 150 }
    lb2 = { host = "10.0.0.3", priority = 100 }
  }
  services = {
    http = {
      vip  = "10.0.0.100"
      port = 80
      real_servers = {
        rs1 = { address = "10.0.0.11" }
        rs2 = { address = "10.0.0.12", weight = 2 }
      }
    }
    https = {
      vip          = "10.0.0.100"
      port         = 443
      scheduler    = "sh"
      health_check = { type = "http", path = "/healthz" }
      real_servers = {
        rs1 = { address = "10.0.0.11" }
      }
    }
  }
}

override_resource {
  target = lvs_virtual_server.this["https"]
  values = {
    id = "tcp/10.0.0.100:443@10.0.0.2,10.0.0.3"
  }
}

run "a_vrrp_pair_with_two_services" {
  # apply (on the mock provider): the split-brain check reads a data source
  # that depends on the resources, so it is only known after apply.
  command = apply

  assert {
    condition     = lvs_director.this["lb1"].vrrp_instance[0].state == "MASTER" && lvs_director.this["lb2"].vrrp_instance[0].state == "BACKUP"
    error_message = "the director of the highest priority must start as MASTER, the other as BACKUP"
  }
  assert {
    condition     = output.vrrp_instance == "VI_WEB_TIER"
    error_message = "the instance is named after the cluster"
  }
  assert {
    condition     = length(output.vips) == 1 && output.vips[0] == "10.0.0.100"
    error_message = "one VIP per distinct service address"
  }
  assert {
    condition     = length(lvs_director.this["lb1"].vrrp_instance[0].virtual_ipaddress) == 1 && lvs_director.this["lb1"].vrrp_instance[0].virtual_ipaddress[0].address == "10.0.0.100/24"
    error_message = "the VIP goes on the instance with its prefix length"
  }
  assert {
    condition     = length(lvs_real_server.this) == 3
    error_message = "one lvs_real_server per service and real server"
  }
  assert {
    condition     = lvs_real_server.this["http/rs2"].weight == 2 && lvs_real_server.this["http/rs2"].tcp_check != null
    error_message = "a real server keeps its weight and gets the service's TCP check"
  }
  assert {
    condition     = lvs_real_server.this["https/rs1"].http_get.url[0].path == "/healthz"
    error_message = "an http health check becomes http_get with the path"
  }
  assert {
    condition     = lvs_real_server.this["http/rs1"].host.host == "10.0.0.11"
    error_message = "DR real servers get their host side managed by default"
  }
  assert {
    condition     = length(lvs_haproxy.this) == 0
    error_message = "no haproxy tier unless asked"
  }
}

run "netlink_engine_has_no_keepalived_checks" {
  command = apply
  variables {
    engine = "netlink"
  }
  assert {
    condition     = lvs_real_server.this["http/rs1"].tcp_check == null && lvs_real_server.this["https/rs1"].http_get == null
    error_message = "health checks run in keepalived: none on the netlink engine"
  }
}

run "with_an_haproxy_tier" {
  command = apply
  variables {
    haproxy = {
      hosts = ["10.0.0.31", "10.0.0.32"]
      frontends = {
        web = {
          port    = 8080
          servers = { app1 = { address = "10.0.0.41", port = 8080 } }
        }
      }
    }
  }
  assert {
    condition     = length(lvs_haproxy.this) == 2 && length(lvs_haproxy_frontend.this) == 2
    error_message = "every haproxy host runs every frontend"
  }
}

run "a_single_director_is_refused" {
  command = plan
  variables {
    directors = { lb1 = { host = "10.0.0.2", priority = 150 } }
  }
  expect_failures = [var.directors]
}

run "equal_priorities_are_refused" {
  command = plan
  variables {
    directors = {
      lb1 = { host = "10.0.0.2", priority = 100 }
      lb2 = { host = "10.0.0.3", priority = 100 }
    }
  }
  expect_failures = [var.directors]
}

run "a_bad_vip_is_refused" {
  command = plan
  variables {
    services = {
      http = { vip = "10.0.0.300", port = 80, real_servers = {} }
    }
  }
  expect_failures = [var.services]
}

run "an_unknown_scheduler_is_refused" {
  command = plan
  variables {
    services = {
      http = { vip = "10.0.0.100", port = 80, scheduler = "fastest", real_servers = {} }
    }
  }
  expect_failures = [var.services]
}

run "a_duplicate_service_is_refused" {
  command = plan
  variables {
    services = {
      a = { vip = "10.0.0.100", port = 80, real_servers = {} }
      b = { vip = "10.0.0.100", port = 80, real_servers = {} }
    }
  }
  expect_failures = [var.services]
}
