# A frontend is imported by its name and its host: NAME@HOST, the host as
# `host`, `user@host` or `user@host:port`. The other SSH settings come from
# the provider block. The import reads the frontend the provider stored on
# that host.
terraform import lvs_haproxy_frontend.web web@10.0.0.21
terraform import lvs_haproxy_frontend.api api@root@10.0.0.21:22
