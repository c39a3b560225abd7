# The real-server side of an LVS-DR service for hosts built from an image:
# cloud-init runs the script at every boot (the VIP on lo does not survive
# a reboot; the sysctls are kept in sysctl_file as well).
data "lvs_real_server_config" "web" {
  forwarding_method = "dr"
  vips              = ["203.0.113.10"]
}

locals {
  cloud_init = <<-EOT
    #cloud-config
    write_files:
      - path: /usr/local/sbin/lvs-realserver.sh
        permissions: "0755"
        content: ${jsonencode(data.lvs_real_server_config.web.script)}
    bootcmd:
      - [sh, -c, "test -x /usr/local/sbin/lvs-realserver.sh && /usr/local/sbin/lvs-realserver.sh"]
    runcmd:
      - [/usr/local/sbin/lvs-realserver.sh]
  EOT
}

output "user_data" {
  value = local.cloud_init
}
