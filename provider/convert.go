package provider

import (
	"math"
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Conversions from Terraform values to the model's plain Go values. Null
// (unset) becomes the zero value, which the model reads as "not set". A
// text that is not an address also becomes the zero address: the iptypes
// type has already rejected it at plan time with the attribute's path, and
// the model rejects a missing required address on its own.

func addrOf(v iptypes.IPAddress) netip.Addr {
	a, err := netip.ParseAddr(v.ValueString())
	if err != nil {
		return netip.Addr{}
	}
	return a
}

func addrsOf(vs []iptypes.IPAddress) []netip.Addr {
	if len(vs) == 0 {
		return nil
	}
	out := make([]netip.Addr, len(vs))
	for i, v := range vs {
		out[i] = addrOf(v)
	}
	return out
}

func stringsOf(vs []types.String) []string {
	if len(vs) == 0 {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ValueString()
	}
	return out
}

func intOf(v types.Int64) int { return int(v.ValueInt64()) }

// optInt is nil when v is unset, so the model can tell 0 from "default".
func optInt(v types.Int64) *int {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	i := int(v.ValueInt64())
	return &i
}

// optBool is nil when v is unset, so the model can tell false from "inherit".
func optBool(v types.Bool) *bool {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	b := v.ValueBool()
	return &b
}

// markOf converts a firewall mark. A value outside uint32, which the
// schema's range validator reports, saturates to the largest mark so that
// it still counts as "a mark is set" for the model's other rules.
func markOf(v types.Int64) uint32 {
	m := v.ValueInt64()
	switch {
	case v.IsNull() || m == 0:
		return 0
	case m < 0 || m > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(m)
}

// prefixOf reads an address with an optional prefix length; a bare address
// is a host prefix. Anything else is the zero prefix, which the model
// reports at the attribute. So is an address with a zone (fe80::1%eth0):
// a prefix holds none, and dropping it (with whatever follows the `%`)
// would render another address than the one written; the device is `dev`.
func prefixOf(s string) netip.Prefix {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen())
	}
	return netip.Prefix{}
}
