variable "name" {
  description = "Name of the cluster: the VRRP instance is named after it (upper-cased, `VI_` prefix)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_-]{0,30}$", var.name))
    error_message = "name must start with a letter and hold at most 31 letters, digits, '_' or '-'."
  }
}

variable "directors" {
  description = <<-EOT
    The directors, by name: the host the provider reaches over SSH, and the VRRP
    priority (the highest live priority holds the VIPs). Two or more, with
    distinct priorities.
  EOT
  type = map(object({
    host     = string
    priority = number
  }))
  validation {
    condition     = length(var.directors) >= 2
    error_message = "directors needs at least two entries: a single director is not highly available (use lvs_director directly)."
  }
  validation {
    condition     = alltrue([for d in values(var.directors) : d.priority >= 1 && d.priority <= 254 && floor(d.priority) == d.priority])
    error_message = "every director's priority must be a whole number from 1 to 254."
  }
  validation {
    condition     = length(distinct([for d in values(var.directors) : d.priority])) == length(var.directors)
    error_message = "the directors' priorities must be distinct, or the election depends on addresses."
  }
}

variable "interface" {
  description = "The directors' interface that carries the VIPs and the VRRP adverts."
  type        = string
  default     = "eth0"
}

variable "virtual_router_id" {
  description = "VRRP virtual router id, unique among the VRRP routers on the directors' network."
  type        = number
  default     = 51
  validation {
    condition     = var.virtual_router_id >= 1 && var.virtual_router_id <= 255 && floor(var.virtual_router_id) == var.virtual_router_id
    error_message = "virtual_router_id must be a whole number from 1 to 255."
  }
}

variable "advert_int" {
  description = "VRRP advertisement interval in seconds: failover takes about three of them."
  type        = number
  default     = 1
  validation {
    condition     = var.advert_int >= 1 && var.advert_int <= 255 && floor(var.advert_int) == var.advert_int
    error_message = "advert_int must be a whole number of seconds from 1 to 255."
  }
}

variable "vip_prefix_length" {
  description = "Prefix length of the VIPs on the directors' interface."
  type        = number
  default     = 24
}

variable "engine" {
  description = "How the directors program IPVS: `keepalived` (health checks by keepalived) or `netlink` (the agent programs the kernel itself)."
  type        = string
  default     = "keepalived"
  validation {
    condition     = contains(["keepalived", "netlink"], var.engine)
    error_message = "engine must be \"keepalived\" or \"netlink\"."
  }
}

variable "services" {
  description = <<-EOT
    The virtual services, by name: the VIP and port, the scheduler and
    forwarding method, a health check, and the real servers by name. With
    `manage_host` (the default for `dr` and `tun`), the provider also sets up
    each real server's own side (the VIP on lo and the ARP sysctls for DR)
    over SSH to its address.
  EOT
  type = map(object({
    vip                 = string
    port                = number
    protocol            = optional(string, "tcp")
    scheduler           = optional(string, "wlc")
    forwarding_method   = optional(string, "dr")
    persistence_timeout = optional(number)
    health_check = optional(object({
      type        = optional(string, "tcp")
      path        = optional(string, "/")
      status_code = optional(string, "200")
    }), {})
    real_servers = map(object({
      address     = string
      port        = optional(number)
      weight      = optional(number, 1)
      manage_host = optional(bool)
    }))
  }))
  validation {
    condition     = length(var.services) >= 1
    error_message = "services needs at least one entry."
  }
  validation {
    condition     = alltrue([for s in values(var.services) : can(cidrhost("${s.vip}/32", 0)) || can(cidrhost("${s.vip}/128", 0))])
    error_message = "every service's vip must be an IPv4 or IPv6 address, without a prefix length."
  }
  validation {
    condition     = alltrue([for s in values(var.services) : s.port >= 1 && s.port <= 65535 && floor(s.port) == s.port])
    error_message = "every service's port must be a whole number from 1 to 65535."
  }
  validation {
    condition     = alltrue([for s in values(var.services) : contains(["tcp", "udp", "sctp"], s.protocol)])
    error_message = "protocol must be one of \"tcp\", \"udp\" and \"sctp\"."
  }
  validation {
    condition     = alltrue([for s in values(var.services) : contains(["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf"], s.scheduler)])
    error_message = "scheduler must be one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo and ovf."
  }
  validation {
    condition     = alltrue([for s in values(var.services) : contains(["dr", "nat", "tun"], s.forwarding_method)])
    error_message = "forwarding_method must be \"dr\", \"nat\" or \"tun\"."
  }
  validation {
    condition     = alltrue([for s in values(var.services) : contains(["tcp", "http", "none"], s.health_check.type)])
    error_message = "health_check.type must be \"tcp\", \"http\" or \"none\"."
  }
  validation {
    condition     = alltrue(flatten([for s in values(var.services) : [for r in values(s.real_servers) : can(cidrhost("${r.address}/32", 0)) || can(cidrhost("${r.address}/128", 0))]]))
    error_message = "every real server's address must be an IPv4 or IPv6 address."
  }
  validation {
    condition     = alltrue(flatten([for s in values(var.services) : [for r in values(s.real_servers) : r.weight >= 0 && r.weight <= 65535 && floor(r.weight) == r.weight]]))
    error_message = "every real server's weight must be a whole number from 0 to 65535."
  }
  validation {
    condition     = length(distinct([for s in values(var.services) : "${s.protocol}/${s.vip}:${s.port}"])) == length(var.services)
    error_message = "two services have the same protocol, vip and port."
  }
}

variable "haproxy" {
  description = <<-EOT
    An optional haproxy tier: hosts that each run the same frontends, by
    name, each over its own servers. Null (the default) builds none.
  EOT
  type = object({
    hosts = list(string)
    mode  = optional(string, "http")
    frontends = map(object({
      bind_address = optional(string)
      port         = number
      balance      = optional(string, "roundrobin")
      servers = map(object({
        address = string
        port    = number
      }))
    }))
  })
  default = null
  validation {
    condition     = var.haproxy == null ? true : length(var.haproxy.hosts) >= 1
    error_message = "haproxy.hosts needs at least one host."
  }
  validation {
    condition     = var.haproxy == null ? true : contains(["http", "tcp"], var.haproxy.mode)
    error_message = "haproxy.mode must be \"http\" or \"tcp\"."
  }
}

variable "split_brain_settle_seconds" {
  description = "How long the split-brain check waits for exactly one MASTER after a change."
  type        = number
  default     = 15
}
