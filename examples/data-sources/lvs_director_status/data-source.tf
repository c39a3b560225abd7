# Live status of a director: VRRP states, the IPVS table with connection
# counters and real-server health, haproxy server states.
data "lvs_director_status" "dir1" {
  ssh {
    host = "10.0.0.11"
  }
}

output "dir1_vrrp" {
  value = data.lvs_director_status.dir1.vrrp # { VI_WEB = "MASTER" }
}

output "dir1_down_real_servers" {
  value = flatten([
    for s in data.lvs_director_status.dir1.ipvs : [
      for d in s.destination : "${s.key} -> ${d.address}:${d.port}" if d.health == "down"
    ]
  ])
}
