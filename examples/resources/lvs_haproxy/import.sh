# The settings of an haproxy host are imported by the host: `host`,
# `user@host` or `user@host:port`. The other SSH settings come from the
# provider block.
terraform import lvs_haproxy.lb1 10.0.0.21
