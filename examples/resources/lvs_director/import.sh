# A director is imported by its host: `host`, `user@host` or `user@host:port`
# (an IPv6 address in brackets when a port follows). The other SSH settings
# come from the provider block. The import reads the director the provider
# stored on that host.
terraform import lvs_director.dir1 10.0.0.11
terraform import lvs_director.dir2 root@10.0.0.12:22
