# A director is imported by its host: `host`, `user@host` or `user@host:port`
# (an IPv6 address in brackets when a port follows). The other SSH settings
# come from the provider block. The import reads the director the provider
# stored on that host.
terraform import lvs_director.dir1 10.0.0.11
terraform import lvs_director.dir2 root@10.0.0.12:22

# A director set up by hand (a keepalived.conf the provider did not write)
# is imported the same way: the import reads its VRRP instances, sync groups
# and global_defs from the file (a warning names what the provider cannot
# hold), with keepalived_in_sync = false. Write the resource to match, then
# `terraform apply` takes the file over: it renders keepalived.conf from the
# director and from every virtual_server block of the file, and reloads
# keepalived (never a restart), so the MASTER keeps its VIPs and IPVS keeps
# its services. Import those services as lvs_virtual_server (id
# `tcp/VIP:port@HOST`) before or after that apply.
terraform import lvs_director.dir3 10.0.0.13
