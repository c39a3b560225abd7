# A certificate is imported by its name and its host: NAME@HOST, the host as
# `host`, `user@host` or `user@host:port`. The key is not imported into the
# state: the first apply after the import writes the configuration's key.
terraform import lvs_haproxy_certificate.www www@10.0.0.21
