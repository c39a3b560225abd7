package provider

import (
	"net/netip"
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// hostSide is the real-server side of this server behind vs.
func (m *realServerResourceModel) hostSide(vs *model.VirtualServer) *model.RealServerHost {
	return hostSideOf(m.toModel(), m.Host, vs)
}

// hostSideOf is the real-server side of rs behind vs, as its host block
// describes it: the VIPs it accepts (default: the service's address) and
// the gateway of a NAT server.
func hostSideOf(rs model.RealServer, host *realServerHostModel, vs *model.VirtualServer) *model.RealServerHost {
	h := &model.RealServerHost{Method: vs.MethodOf(&rs)}
	if h.Method == "tun" {
		tt := rs.TunnelType
		if rs.ForwardingMethod == "" {
			tt = vs.TunnelType
		}
		h.TunnelType = tt
	}
	if h.Method != "nat" {
		h.VIPs = addrsOf(host.VIPs)
		if len(h.VIPs) == 0 && vs.Address.IsValid() {
			h.VIPs = []netip.Addr{vs.Address}
		}
	}
	h.Gateway = addrOf(host.Gateway)
	return h
}

// hostSideErrors checks a real-server side, with the errors of its vips
// and gateway under at (the path of the host block's owner): the model
// reports them at the side's top level.
func hostSideErrors(h *model.RealServerHost, at model.Path) error {
	err := h.Validate(nil)
	errs := model.AsErrors(err)
	if errs == nil {
		return err
	}
	var out model.Errors
	for _, e := range errs {
		p := e.Path
		if len(p) > 0 && (p[0] == "vips" || p[0] == "gateway") {
			p = append(append(append(model.Path{}, at...), "host"), p...)
		}
		out = append(out, &model.FieldError{Path: p, Msg: e.Msg})
	}
	return out
}

// rsID is the server's id under the virtual server id.
func (m *realServerResourceModel) rsID(id cluster.VirtualServerID) cluster.RealServerID {
	vs := id.VirtualServer()
	rs := m.toModel()
	port := rs.EffectivePort(&vs)
	return cluster.RealServerID{VS: id, Address: addrOf(m.Address), Port: port}
}

// withObserved returns m with the described attributes replaced by what
// obs holds where the two differ in meaning (see keepString); method is
// what an unset forwarding_method means.
func (m realServerResourceModel) withObserved(obs *model.RealServer, method string) realServerResourceModel {
	out := m
	out.realServerModel = m.realServerModel.withObserved(obs, method)
	return out
}

// withObserved is the real server shape's part of reading back, shared
// by lvs_real_server and the real_server blocks of lvs_virtual_server.
func (m realServerModel) withObserved(obs *model.RealServer, method string) realServerModel {
	out := m
	prior := m.toModel()
	if prior.EffectiveWeight() != obs.EffectiveWeight() {
		out.Weight = types.Int64Value(int64(obs.EffectiveWeight()))
	}
	out.ForwardingMethod = keepString(m.ForwardingMethod, obs.ForwardingMethod, method)
	tunDef := ""
	if orDefault(obs.ForwardingMethod, method) == "tun" {
		tunDef = model.DefaultTunnelType
	}
	if m.ForwardingMethod.IsNull() {
		tunDef = "" // inherited from the virtual server with the method
	}
	out.TunnelType = keepString(m.TunnelType, obs.TunnelType, tunDef)
	out.TunnelPort = keepInt(m.TunnelPort, obs.TunnelPort)
	out.UpperThreshold = keepInt(m.UpperThreshold, obs.UpperThreshold)
	out.LowerThreshold = keepInt(m.LowerThreshold, obs.LowerThreshold)
	out.InhibitOnFailure = keepOptBool(m.InhibitOnFailure, obs.InhibitOnFailure)
	out.NotifyUp = keepString(m.NotifyUp, obs.NotifyUp, "")
	out.NotifyDown = keepString(m.NotifyDown, obs.NotifyDown, "")
	// Health checks live only in the stored description (keepalived's
	// config); a different stored check replaces the whole block.
	cur := prior
	if !reflect.DeepEqual(cur.TCPCheck, obs.TCPCheck) || !reflect.DeepEqual(cur.HTTPGet, obs.HTTPGet) ||
		!reflect.DeepEqual(cur.SSLGet, obs.SSLGet) || !reflect.DeepEqual(cur.MiscCheck, obs.MiscCheck) ||
		healthChecksDiffer(&cur, obs) {
		chk := checksFromModel(obs)
		out.TCPCheck, out.HTTPGet, out.SSLGet, out.MiscCheck = chk.TCPCheck, chk.HTTPGet, chk.SSLGet, chk.MiscCheck
		out.healthChecksModel = chk.healthChecksModel
	}
	return out
}

func keepOptBool(prior types.Bool, obs *bool) types.Bool {
	switch {
	case obs == nil && prior.IsNull():
		return prior
	case obs == nil:
		return types.BoolNull()
	case !prior.IsNull() && prior.ValueBool() == *obs:
		return prior
	}
	return types.BoolValue(*obs)
}

// checksFromModel maps a real server's health checks back to Terraform
// values (null for unset settings).
func checksFromModel(rs *model.RealServer) realServerModel {
	var out realServerModel
	common := func(c model.CheckCommon) checkCommonModel {
		return checkCommonModel{
			ConnectIP: keepAddr(iptypes.NewIPAddressNull(), c.ConnectIP), ConnectPort: keepInt(types.Int64Null(), c.ConnectPort),
			BindTo: keepAddr(iptypes.NewIPAddressNull(), c.BindTo), ConnectTimeout: keepInt(types.Int64Null(), c.ConnectTimeout),
			Retry: keepInt(types.Int64Null(), c.Retry), DelayBeforeRetry: keepInt(types.Int64Null(), c.DelayBeforeRetry),
		}
	}
	http := func(c *model.HTTPCheck) *httpCheckModel {
		if c == nil {
			return nil
		}
		h := &httpCheckModel{checkCommonModel: common(c.CheckCommon), VirtualHost: keepString(types.StringNull(), c.VirtualHost, "")}
		for _, u := range c.URLs {
			h.URLs = append(h.URLs, checkURLModel{Path: types.StringValue(u.Path),
				StatusCode: keepString(types.StringNull(), u.StatusCode, ""), Digest: keepString(types.StringNull(), u.Digest, "")})
		}
		return h
	}
	if c := rs.TCPCheck; c != nil {
		cc := common(c.CheckCommon)
		out.TCPCheck = &cc
	}
	out.HTTPGet, out.SSLGet = http(rs.HTTPGet), http(rs.SSLGet)
	if c := rs.MiscCheck; c != nil {
		out.MiscCheck = &miscCheckModel{Script: types.StringValue(c.Script), Timeout: keepInt(types.Int64Null(), c.Timeout),
			Dynamic: keepBool(types.BoolNull(), c.Dynamic), User: keepString(types.StringNull(), c.User, "")}
	}
	out.healthChecksModel = healthChecksFromModel(rs)
	return out
}
