# A real server is imported by its id: its virtual server's key, "/", the
# server's ADDRESS:PORT, "@", and the directors (as in the virtual server's id).
#
#   tcp/192.0.2.10:80/192.0.2.21:80@root@10.0.0.2:22,root@10.0.0.3:22
#   udp/[2001:db8::10]:53/[2001:db8::21]:53@10.0.0.2
#   fwmark/7/192.0.2.21:0@10.0.0.2,10.0.0.3
#
# After ";host=", the real server's own SSH host (`host`, `user@host` or
# `user@host:port`) fills the `host` block: the real-server side set up by
# hand there (VIP on lo, ARP sysctls) is adopted by the next apply, which
# stores it without changing it (host_in_sync plans false -> true).
#
#   tcp/192.0.2.10:80/192.0.2.21:80@10.0.0.2;host=root@192.0.2.21:22
#
# The drain settings are not read back by an import; add them to the
# configuration.
terraform import lvs_real_server.web1 'tcp/192.0.2.10:80/192.0.2.21:80@root@10.0.0.2:22,root@10.0.0.3:22'
terraform import lvs_real_server.web2 'tcp/192.0.2.10:80/192.0.2.22:80@root@10.0.0.2:22,root@10.0.0.3:22;host=root@192.0.2.22'
