package provider

import (
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func keepString(prior types.String, obs, def string) types.String {
	if orDefault(prior.ValueString(), def) == orDefault(obs, def) {
		return prior
	}
	if obs == "" {
		return types.StringNull()
	}
	return types.StringValue(obs)
}

// keepInt is for integers whose unset value means 0.
func keepInt(prior types.Int64, obs int) types.Int64 {
	return keepIntAs(prior, obs, func(v int) int { return v })
}

// keepIntAs compares through eff, which applies the default.
func keepIntAs(prior types.Int64, obs int, eff func(int) int) types.Int64 {
	if eff(int(prior.ValueInt64())) == eff(obs) {
		return prior
	}
	if obs == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(int64(obs))
}

func keepBool(prior types.Bool, obs bool) types.Bool {
	if prior.ValueBool() == obs {
		return prior
	}
	if !obs {
		return types.BoolNull()
	}
	return types.BoolValue(true)
}

func keepAddr(prior iptypes.IPAddress, obs netip.Addr) iptypes.IPAddress {
	if addrOf(prior) == obs {
		return prior
	}
	if !obs.IsValid() {
		return iptypes.NewIPAddressNull()
	}
	return iptypes.NewIPAddressValue(obs.String())
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// planConfig views a plan as a configuration, for addConfigErrors, which
// looks up the attributes an error names.
func planConfig(p tfsdk.Plan) tfsdk.Config { return tfsdk.Config(p) }
