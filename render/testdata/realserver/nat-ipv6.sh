#!/bin/sh
# Managed by terraform-provider-lvs; do not edit: changes are overwritten.
# The real-server side of an LVS cluster. Idempotent: running it again
# changes nothing.
set -eu

# Replies return through the directors, which undo the NAT.
ip -6 route replace default via 2001:db8::1
