# A virtual server is imported by its id: the service's key on each
# director, "@", and the directors (as written in `directors`, such as the
# lvs_director ids user@host:port), sorted and comma-separated.
#
#   PROTOCOL/ADDRESS:PORT@DIRECTORS   tcp/192.0.2.10:80@root@10.0.0.2:22,root@10.0.0.3:22
#   PROTOCOL/[IPV6]:PORT@DIRECTORS    udp/[2001:db8::10]:53@10.0.0.2
#   fwmark/MARK@DIRECTORS             fwmark/7@10.0.0.2,10.0.0.3   (fwmark6/MARK for IPv6)
#   group/NAME/PROTOCOL@DIRECTORS     group/tls/tcp@10.0.0.2,10.0.0.3   (a virtual_server_group
#                                     service; its members are read from the directors)
#
# A service built by hand with ipvsadm on a netlink director is taken over
# (adopted) at the next apply, without interrupting its traffic.
#
# The import reaches the directors with the provider's SSH settings; an
# `ssh` block of the configuration is not read back (add it after).
terraform import lvs_virtual_server.web 'tcp/192.0.2.10:80@root@10.0.0.2:22,root@10.0.0.3:22'
terraform import lvs_virtual_server.mail 'fwmark/7@10.0.0.2,10.0.0.3'
terraform import lvs_virtual_server.tls 'group/tls/tcp@10.0.0.2,10.0.0.3'
