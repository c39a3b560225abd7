package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// toModel maps the resource into the model's virtual server.
func (m *virtualServerResourceModel) toModel() model.VirtualServer {
	vs := m.virtualServerSettings.toModel()
	if m.SorryServer != nil {
		vs.SorryServer = m.SorryServer.sorryServerModel.toModel()
	}
	if m.Group != nil {
		vs.Group = m.Group.Name.ValueString()
	}
	vs.RealServers = inlineModels(m.RealServers)
	vs.FwmarkMatches = fwmarkMatchesToModel(m.FwmarkMatch)
	return vs
}

// withObserved returns m with every described attribute replaced by what
// obs holds where the two differ in meaning; where they agree, the value
// is kept as written (an unset scheduler stays unset although the kernel
// reports wlc), so only real differences show in the plan.
func (m virtualServerResourceModel) withObserved(obs *model.VirtualServer) virtualServerResourceModel {
	bits := 32
	if obs.IsIPv6() {
		bits = 128
	}
	out := m
	out.Scheduler = keepString(m.Scheduler, obs.Scheduler, model.DefaultScheduler)
	out.SchedulerPort = keepBool(m.SchedulerPort, obs.SchedulerPort)
	out.SchedulerFallback = keepBool(m.SchedulerFallback, obs.SchedulerFallback)
	out.OnePacket = keepBool(m.OnePacket, obs.OnePacket)
	out.PersistenceTimeout = keepInt(m.PersistenceTimeout, obs.PersistenceTimeout)
	out.PersistenceGranularity = keepIntAs(m.PersistenceGranularity, obs.PersistenceGranularity, func(v int) int {
		if v == 0 {
			return bits
		}
		return v
	})
	out.ForwardingMethod = keepString(m.ForwardingMethod, obs.ForwardingMethod, model.DefaultForwardingMethod)
	tunDef := ""
	if obs.EffectiveMethod() == "tun" {
		tunDef = model.DefaultTunnelType
	}
	out.TunnelType = keepString(m.TunnelType, obs.TunnelType, tunDef)
	out.TunnelPort = keepInt(m.TunnelPort, obs.TunnelPort)
	out.DelayLoop = keepInt(m.DelayLoop, obs.DelayLoop)
	out.Retry = keepInt(m.Retry, obs.Retry)
	out.DelayBeforeRetry = keepInt(m.DelayBeforeRetry, obs.DelayBeforeRetry)
	out.ConnectTimeout = keepInt(m.ConnectTimeout, obs.ConnectTimeout)
	out.VirtualHost = keepString(m.VirtualHost, obs.VirtualHost, "")
	out.Quorum = keepInt(m.Quorum, obs.Quorum)
	out.Hysteresis = keepInt(m.Hysteresis, obs.Hysteresis)
	out.QuorumUp = keepString(m.QuorumUp, obs.QuorumUp, "")
	out.QuorumDown = keepString(m.QuorumDown, obs.QuorumDown, "")
	out.Alpha = keepBool(m.Alpha, obs.Alpha)
	out.Omega = keepBool(m.Omega, obs.Omega)
	out.InhibitOnFailure = keepBool(m.InhibitOnFailure, obs.InhibitOnFailure)
	out.SorryServer = keepSorryResource(m.SorryServer, obs.SorryServer)
	out.FwmarkMatch = keepFwmarkMatches(m.FwmarkMatch, obs.Fwmark, obs.FwmarkMatches)
	return out
}

func keepSorryServer(m *sorryServerModel, obs *model.SorryServer) *sorryServerModel {
	switch {
	case obs == nil:
		return nil
	case m == nil:
		m = &sorryServerModel{Address: iptypes.NewIPAddressNull(), Port: types.Int64Null(),
			ForwardingMethod: types.StringNull(), Inhibit: types.BoolNull()}
	}
	return &sorryServerModel{
		Address:          keepAddr(m.Address, obs.Address),
		Port:             keepInt(m.Port, obs.Port),
		ForwardingMethod: keepString(m.ForwardingMethod, obs.ForwardingMethod, ""),
		Inhibit:          keepBool(m.Inhibit, obs.Inhibit),
	}
}

// vsIdentityChanges lists the identity attributes whose effective value
// differs between state and plan (or is not known in the plan).
func vsIdentityChanges(state, plan *virtualServerResourceModel) path.Paths {
	var out path.Paths
	add := func(name string, unknown, differs bool) {
		if unknown || differs {
			out = append(out, path.Root(name))
		}
	}
	add("address", plan.Address.IsUnknown(), addrOf(plan.Address) != addrOf(state.Address))
	add("port", plan.Port.IsUnknown(), plan.Port.ValueInt64() != state.Port.ValueInt64())
	add("protocol", plan.Protocol.IsUnknown(),
		orDefault(plan.Protocol.ValueString(), protocolDefault(plan)) != orDefault(state.Protocol.ValueString(), protocolDefault(state)))
	add("fwmark", plan.Fwmark.IsUnknown(), plan.Fwmark.ValueInt64() != state.Fwmark.ValueInt64())
	add("family", plan.Family.IsUnknown(), orDefault(plan.Family.ValueString(), "inet") != orDefault(state.Family.ValueString(), "inet"))
	if (plan.Group == nil) != (state.Group == nil) || plan.Group != nil && (plan.Group.Name.IsUnknown() || plan.groupName() != state.groupName()) {
		out = append(out, path.Root("group").AtName("name"))
	}
	return out
}

// protocolDefault is the protocol an unset one means: tcp, except for a
// fwmark service, which has none.
func protocolDefault(m *virtualServerResourceModel) string {
	if !m.Fwmark.IsNull() && m.Fwmark.ValueInt64() != 0 {
		return ""
	}
	return model.DefaultProtocol
}
