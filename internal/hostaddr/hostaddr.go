// Package hostaddr puts addresses on devices and routes in place over
// netlink: the VIPs a director or a DR/TUN real server carries, and the
// default route of a NAT real server through its director. Every change is
// idempotent: asking for what is already there changes nothing and is no
// error.
//
// A device is named as in the model's HostAddress: "eth0", or "eth0:1" for
// an address with that label on eth0.
package hostaddr

import (
	"errors"
	"strings"
)

// ProtoKeepalived is the routing protocol number keepalived marks its
// routes and rules with (RTPROT_KEEPALIVED; "proto keepalived" in ip's
// output).
const ProtoKeepalived = 18

// ErrNoDevice says the named device does not exist.
var ErrNoDevice = errors.New("no such device")

// ErrUnsupported is returned off Linux.
var ErrUnsupported = errors.New("addresses and routes are managed on Linux only")

// linkName is the device of a possibly labelled name: eth0 for eth0:1.
func linkName(dev string) string {
	name, _, _ := strings.Cut(dev, ":")
	return name
}
