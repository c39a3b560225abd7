package provider

import (
	"net/netip"
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The way back from the model to Terraform values for the haproxy shapes,
// used where a resource's state comes from what the host stores (import,
// or an object another run changed). A zero value is an unset attribute:
// the inverse of the toModel mappings in haproxy_schema.go.

func nullAddr(a netip.Addr) iptypes.IPAddress {
	if !a.IsValid() {
		return iptypes.NewIPAddressNull()
	}
	return iptypes.NewIPAddressValue(a.String())
}

func stringValues(vs []string) []types.String {
	if len(vs) == 0 {
		return nil
	}
	out := make([]types.String, len(vs))
	for i, v := range vs {
		out[i] = types.StringValue(v)
	}
	return out
}

func timeoutsFromModel(t model.HAProxyTimeouts) haproxyTimeoutsModel {
	return haproxyTimeoutsModel{
		TimeoutConnect:       optInt64(t.Connect),
		TimeoutClient:        optInt64(t.Client),
		TimeoutServer:        optInt64(t.Server),
		TimeoutQueue:         optInt64(t.Queue),
		TimeoutHTTPRequest:   optInt64(t.HTTPRequest),
		TimeoutHTTPKeepAlive: optInt64(t.HTTPKeepAlive),
		TimeoutCheck:         optInt64(t.Check),
		TimeoutTunnel:        optInt64(t.Tunnel),
		TimeoutClientFin:     optInt64(t.ClientFin),
		TimeoutServerFin:     optInt64(t.ServerFin),
	}
}

func bindsFromModel(bs []model.HAProxyBind) []haproxyBindModel {
	var out []haproxyBindModel
	for _, b := range bs {
		out = append(out, haproxyBindModel{Address: nullAddr(b.Address), Port: types.Int64Value(int64(b.Port)),
			Certificate: optString(b.Certificate), Options: optString(b.Options)})
	}
	return out
}

func aclsFromModel(as []model.HAProxyACL) []haproxyACLModel {
	var out []haproxyACLModel
	for _, a := range as {
		out = append(out, haproxyACLModel{Name: types.StringValue(a.Name), Criterion: types.StringValue(a.Criterion)})
	}
	return out
}

func useBackendsFromModel(us []model.HAProxyUseBackend) []haproxyUseBackendModel {
	var out []haproxyUseBackendModel
	for _, u := range us {
		out = append(out, haproxyUseBackendModel{Backend: types.StringValue(u.Backend), Cond: optString(u.Cond), Condition: types.StringValue(u.Condition)})
	}
	return out
}

// useBackendNames are the backends the rules name, in order.
func useBackendNames(us []model.HAProxyUseBackend) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Backend
	}
	return out
}

func serversFromModel(ss []model.HAProxyServer) []haproxyServerModel {
	var out []haproxyServerModel
	for _, s := range ss {
		m := haproxyServerModel{
			Name:          types.StringValue(s.Name),
			Address:       serverAddressFromModel(s),
			Resolvers:     optString(s.Resolvers),
			ResolvePrefer: optString(s.ResolvePrefer),
			InitAddr:      stringValues(s.InitAddr),
			Port:          optInt64(s.Port),
			Weight:        types.Int64Null(),
			Check:         optTrue(s.Check),
			CheckPort:     optInt64(s.CheckPort),
			CheckAddr:     nullAddr(s.CheckAddr),
			SendProxy:     optTrue(s.SendProxy),
			SendProxyV2:   optTrue(s.SendProxyV2),
			Slowstart:     optInt64(s.Slowstart),
			Maxqueue:      optInt64(s.Maxqueue),
			Inter:         optInt64(s.Inter),
			Fall:          optInt64(s.Fall),
			Rise:          optInt64(s.Rise),
			Backup:        optTrue(s.Backup),
			Maxconn:       optInt64(s.Maxconn),
			SSL:           optTrue(s.SSL),
			CheckSSL:      optTrue(s.CheckSSL),
			Verify:        optString(s.Verify),
			CAFile:        optString(s.CAFile),
			SNI:           optString(s.SNI),
			VerifyHost:    optString(s.VerifyHost),
			AgentCheck:    optTrue(s.AgentCheck),
			AgentPort:     optInt64(s.AgentPort),
			AgentInter:    optInt64(s.AgentInter),
			Options:       optString(s.Options),
		}
		if s.Weight != nil {
			m.Weight = types.Int64Value(int64(*s.Weight))
		}
		out = append(out, m)
	}
	return out
}

// serverAddressFromModel is the address attribute of a stored server: its
// host name, or its IP address.
func serverAddressFromModel(s model.HAProxyServer) types.String {
	switch {
	case s.Hostname != "":
		return types.StringValue(s.Hostname)
	case s.Address.IsValid():
		return types.StringValue(s.Address.String())
	}
	return types.StringNull()
}

func resolversFromModel(rs []model.HAProxyResolvers) []haproxyResolversModel {
	var out []haproxyResolversModel
	for _, r := range rs {
		m := haproxyResolversModel{
			Name:                types.StringValue(r.Name),
			ParseResolvConf:     optTrue(r.ParseResolvConf),
			ResolveRetries:      optInt64(r.ResolveRetries),
			TimeoutResolve:      optInt64(r.TimeoutResolve),
			TimeoutRetry:        optInt64(r.TimeoutRetry),
			HoldValid:           optInt64(r.HoldValid),
			AcceptedPayloadSize: optInt64(r.AcceptedPayloadSize),
		}
		for _, ns := range r.Nameservers {
			m.Nameservers = append(m.Nameservers, types.StringValue(ns.String()))
		}
		out = append(out, m)
	}
	return out
}

func httpCheckFromModel(h *model.HAProxyHTTPCheck) *haproxyHTTPCheckModel {
	if h == nil {
		return nil
	}
	return &haproxyHTTPCheckModel{
		Method:       optString(h.Method),
		Path:         types.StringValue(h.Path),
		Host:         optString(h.Host),
		ExpectStatus: optString(h.ExpectStatus),
	}
}

// globalFromModel maps a stored global section; the zero section is an
// absent block.
func globalFromModel(g model.HAProxyGlobal) *haproxyGlobalModel {
	if reflect.ValueOf(g).IsZero() {
		return nil
	}
	m := &haproxyGlobalModel{
		Maxconn:     optInt64(g.Maxconn),
		Nbthread:    optInt64(g.Nbthread),
		User:        optString(g.User),
		Group:       optString(g.Group),
		UID:         optInt64(g.UID),
		GID:         optInt64(g.GID),
		Chroot:      optString(g.Chroot),
		StatsSocket: optString(g.StatsSocket),
		Options:     stringValues(g.Options),
	}
	for _, l := range g.Logs {
		m.Logs = append(m.Logs, haproxyLogModel{
			Address: types.StringValue(l.Address), Facility: types.StringValue(l.Facility), Level: optString(l.Level),
		})
	}
	return m
}

// defaultsFromModel maps a stored defaults section; the zero section is an
// absent block.
func defaultsFromModel(d model.HAProxyDefaults) *haproxyDefaultsModel {
	if reflect.ValueOf(d).IsZero() {
		return nil
	}
	return &haproxyDefaultsModel{
		Mode:                 optString(d.Mode),
		Maxconn:              optInt64(d.Maxconn),
		Retries:              optInt64(d.Retries),
		Redispatch:           optTrue(d.Redispatch),
		Balance:              optString(d.Balance),
		BalanceArg:           optString(d.BalanceArg),
		LogGlobal:            optTrue(d.LogGlobal),
		Options:              stringValues(d.Options),
		haproxyTimeoutsModel: timeoutsFromModel(d.Timeouts),
	}
}
