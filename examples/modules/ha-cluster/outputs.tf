output "vrrp_instance" {
  description = "Name of the VRRP instance that holds the VIPs."
  value       = local.instance
}

output "vips" {
  description = "The VIPs the directors hold, one per distinct service address."
  value       = local.vips
}

output "director_ids" {
  description = "lvs_director ids by director name."
  value       = { for k, d in lvs_director.this : k => d.id }
}

output "virtual_server_ids" {
  description = "lvs_virtual_server ids by service name (for more lvs_real_server resources outside the module)."
  value       = { for k, s in lvs_virtual_server.this : k => s.id }
}

output "real_server_ids" {
  description = "lvs_real_server ids, keyed SERVICE/REAL_SERVER."
  value       = { for k, r in lvs_real_server.this : k => r.id }
}

output "masters" {
  description = "The directors that are MASTER of the instance; exactly one is healthy."
  value       = one(data.lvs_vrrp_masters.this.instances[*].master_hosts)
}

output "split_brain" {
  description = "Whether more than one director is MASTER."
  value       = data.lvs_vrrp_masters.this.split_brain
}

output "ipvs" {
  description = "Each director's IPVS table: service key -> real servers and their health."
  value = {
    for name, s in data.lvs_director_status.this : name => {
      for svc in s.ipvs : svc.key => [for d in svc.destination : "${d.address}:${d.port} ${d.health}"]
    }
  }
}
