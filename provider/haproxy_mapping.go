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

func nullInt(v int) types.Int64 {
	if v == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(int64(v))
}

func nullString(v string) types.String {
	if v == "" {
		return types.StringNull()
	}
	return types.StringValue(v)
}

func nullBool(v bool) types.Bool {
	if !v {
		return types.BoolNull()
	}
	return types.BoolValue(true)
}

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
		TimeoutConnect:       nullInt(t.Connect),
		TimeoutClient:        nullInt(t.Client),
		TimeoutServer:        nullInt(t.Server),
		TimeoutQueue:         nullInt(t.Queue),
		TimeoutHTTPRequest:   nullInt(t.HTTPRequest),
		TimeoutHTTPKeepAlive: nullInt(t.HTTPKeepAlive),
		TimeoutCheck:         nullInt(t.Check),
		TimeoutTunnel:        nullInt(t.Tunnel),
		TimeoutClientFin:     nullInt(t.ClientFin),
		TimeoutServerFin:     nullInt(t.ServerFin),
	}
}

func bindsFromModel(bs []model.HAProxyBind) []haproxyBindModel {
	var out []haproxyBindModel
	for _, b := range bs {
		out = append(out, haproxyBindModel{Address: nullAddr(b.Address), Port: types.Int64Value(int64(b.Port)), Options: nullString(b.Options)})
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

func serversFromModel(ss []model.HAProxyServer) []haproxyServerModel {
	var out []haproxyServerModel
	for _, s := range ss {
		m := haproxyServerModel{
			Name:    types.StringValue(s.Name),
			Address: nullAddr(s.Address),
			Port:    types.Int64Value(int64(s.Port)),
			Weight:  types.Int64Null(),
			Check:   nullBool(s.Check),
			Inter:   nullInt(s.Inter),
			Fall:    nullInt(s.Fall),
			Rise:    nullInt(s.Rise),
			Backup:  nullBool(s.Backup),
			Maxconn: nullInt(s.Maxconn),
			Options: nullString(s.Options),
		}
		if s.Weight != nil {
			m.Weight = types.Int64Value(int64(*s.Weight))
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
		Method:       nullString(h.Method),
		Path:         types.StringValue(h.Path),
		Host:         nullString(h.Host),
		ExpectStatus: nullString(h.ExpectStatus),
	}
}

// globalFromModel maps a stored global section; the zero section is an
// absent block.
func globalFromModel(g model.HAProxyGlobal) *haproxyGlobalModel {
	if reflect.ValueOf(g).IsZero() {
		return nil
	}
	m := &haproxyGlobalModel{
		Maxconn:     nullInt(g.Maxconn),
		Nbthread:    nullInt(g.Nbthread),
		User:        nullString(g.User),
		Group:       nullString(g.Group),
		Chroot:      nullString(g.Chroot),
		StatsSocket: nullString(g.StatsSocket),
		Options:     stringValues(g.Options),
	}
	for _, l := range g.Logs {
		m.Logs = append(m.Logs, haproxyLogModel{
			Address: types.StringValue(l.Address), Facility: types.StringValue(l.Facility), Level: nullString(l.Level),
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
		Mode:                 nullString(d.Mode),
		Maxconn:              nullInt(d.Maxconn),
		Retries:              nullInt(d.Retries),
		Redispatch:           nullBool(d.Redispatch),
		LogGlobal:            nullBool(d.LogGlobal),
		Options:              stringValues(d.Options),
		haproxyTimeoutsModel: timeoutsFromModel(d.Timeouts),
	}
}
