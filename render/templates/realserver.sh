{% autoescape off %}
#!/bin/sh
{{ marker }}
# The real-server side of an LVS cluster. Idempotent: running it again
# changes nothing.
set -eu
{% if tunnel %}

# The tunnel device decapsulates what the directors send. Its module may be
# built in, or modprobe missing: the device itself is what must come up.
if command -v modprobe >/dev/null 2>&1; then
	modprobe {{ tunnel.Module }} || echo "modprobe {{ tunnel.Module }} failed; trying the device anyway" >&2
fi
ip link set dev {{ tunnel.Device }} up
{% endif %}
{% if sysctls %}

# Kernel settings, now and at every boot. They come before the addresses:
# no ARP reply may ever show a VIP.
{% for s in sysctls %}
sysctl -w {{ s }}
{% endfor %}
mkdir -p /etc/sysctl.d
cat >{{ sysctlFile }}.tmp <<'LVS_SYSCTL_EOF'
{{ sysctlText }}LVS_SYSCTL_EOF
mv -f {{ sysctlFile }}.tmp {{ sysctlFile }}
{% endif %}
{% if addresses %}

# The virtual addresses this host accepts traffic for.
{% for a in addresses %}
ip addr replace {{ a }}
{% endfor %}
{% endif %}
{% if gateway %}

# Replies return through the directors, which undo the NAT.
{{ gateway }}
{% endif %}
{% endautoescape %}
