# A backend is imported by its name and its host: NAME@HOST, the host as
# `host`, `user@host` or `user@host:port`. The other SSH settings come from
# the provider block. The import reads the backend the provider stored on
# that host, or, on a host whose haproxy.cfg was written by hand, the
# backend section of that file.
terraform import lvs_haproxy_backend.static static@10.0.0.21
terraform import lvs_haproxy_backend.app app@root@10.0.0.21:22
