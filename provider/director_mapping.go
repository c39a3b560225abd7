package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// normalDirector makes nil and empty slices equal, for comparison.
func normalDirector(d model.Director) model.Director {
	if len(d.Instances) == 0 {
		d.Instances = nil
	}
	if len(d.SyncGroups) == 0 {
		d.SyncGroups = nil
	}
	if len(d.Sysctls) == 0 {
		d.Sysctls = nil
	}
	if len(d.StaticAddresses) == 0 {
		d.StaticAddresses = nil
	}
	d.StaticRoutes = normalRoutes(d.StaticRoutes)
	if len(d.StaticRules) == 0 {
		d.StaticRules = nil
	}
	for i := range d.Instances {
		in := &d.Instances[i]
		if len(in.UnicastPeers) == 0 {
			in.UnicastPeers = nil
		}
		if len(in.VirtualIPs) == 0 {
			in.VirtualIPs = nil
		}
		if len(in.TrackScripts) == 0 {
			in.TrackScripts = nil
		}
		if len(in.TrackIfaces) == 0 {
			in.TrackIfaces = nil
		}
		in.VirtualRoutes = normalRoutes(in.VirtualRoutes)
		if len(in.VirtualRules) == 0 {
			in.VirtualRules = nil
		}
	}
	for i := range d.SyncGroups {
		if len(d.SyncGroups[i].Instances) == 0 {
			d.SyncGroups[i].Instances = nil
		}
	}
	return d
}

// directorModelFrom maps a stored director back into Terraform values.
// Unset model values (zero) become null, as the user left them; a host
// prefix of a virtual address is written as the bare address.
func directorModelFrom(d model.Director) directorModel {
	m := directorModel{
		Interface:            optString(d.Interface),
		RouterID:             optString(d.RouterID),
		ScriptUser:           optString(d.ScriptUser),
		EnableScriptSecurity: optTrue(d.EnableScriptSecurity),
		Engine:               optString(d.Engine),
		GlobalDefs:           globalDefsFrom(d.Globals),
		StaticAddresses:      staticAddressesFrom(d.StaticAddresses),
		StaticRoutes:         routesFrom(d.StaticRoutes),
		StaticRules:          rulesFrom(d.StaticRules),
	}
	for _, in := range d.Instances {
		m.VRRPInstances = append(m.VRRPInstances, vrrpInstanceFrom(in))
	}
	for _, g := range d.SyncGroups {
		sg := vrrpSyncGroupModel{Name: types.StringValue(g.Name), notifyModel: notifyFrom(g.Notify)}
		for _, n := range g.Instances {
			sg.Group = append(sg.Group, types.StringValue(n))
		}
		m.VRRPSyncGroups = append(m.VRRPSyncGroups, sg)
	}
	for _, s := range d.Sysctls {
		m.Sysctls = append(m.Sysctls, sysctlModel{
			Key: types.StringValue(s.Key), Value: types.StringValue(s.Value), Reason: optString(s.Reason),
		})
	}
	return m
}

func vrrpInstanceFrom(in model.VRRPInstance) vrrpInstanceModel {
	m := vrrpInstanceModel{
		Name:              types.StringValue(in.Name),
		Interface:         optString(in.Interface),
		State:             optString(in.State),
		VirtualRouterID:   types.Int64Value(int64(in.VirtualRouterID)),
		Priority:          types.Int64Value(int64(in.Priority)),
		AdvertInt:         types.Float64Null(),
		Version:           optInt64(in.Version),
		UnicastSrcIP:      iptypes.NewIPAddressNull(),
		NoPreempt:         optTrue(in.NoPreempt),
		PreemptDelay:      optInt64(in.PreemptDelay),
		GarpMasterDelay:   optInt64(in.GarpMasterDelay),
		GarpMasterRepeat:  optInt64(in.GarpMasterRepeat),
		GarpMasterRefresh: optInt64(in.GarpMasterRefresh),
		SMTPAlert:         optTrue(in.SMTPAlert),
		UseVMAC:           optTrue(in.UseVMAC),
		VMACInterface:     optString(in.VMACInterface),
		VMACXmitBase:      optTrue(in.VMACXmitBase),
		VirtualRoutes:     routesFrom(in.VirtualRoutes),
		VirtualRules:      rulesFrom(in.VirtualRules),
		notifyModel:       notifyFrom(in.Notify),
	}
	if in.AdvertInt != 0 {
		m.AdvertInt = types.Float64Value(in.AdvertInt)
	}
	if in.UnicastSrcIP.IsValid() {
		m.UnicastSrcIP = iptypes.NewIPAddressValue(in.UnicastSrcIP.String())
	}
	for _, p := range in.UnicastPeers {
		m.UnicastPeers = append(m.UnicastPeers, iptypes.NewIPAddressValue(p.String()))
	}
	if a := in.Authentication; a != nil {
		m.Authentication = &vrrpAuthModel{Type: types.StringValue(a.Type), Password: types.StringValue(a.Password)}
	}
	for _, v := range in.VirtualIPs {
		addr := v.Prefix.String()
		if v.Prefix.IsSingleIP() {
			addr = v.Prefix.Addr().String()
		}
		m.VirtualIPAddress = append(m.VirtualIPAddress, virtualIPModel{
			Address: types.StringValue(addr), Dev: optString(v.Device), Label: optString(v.Label),
		})
	}
	for _, t := range in.TrackScripts {
		m.TrackScripts = append(m.TrackScripts, trackScriptModel{
			Name: types.StringValue(t.Name), Script: types.StringValue(t.Script), Interval: optInt64(t.Interval),
			Timeout: optInt64(t.Timeout), Weight: optInt64(t.Weight), Fall: optInt64(t.Fall), Rise: optInt64(t.Rise),
		})
	}
	for _, t := range in.TrackIfaces {
		m.TrackInterfaces = append(m.TrackInterfaces, trackInterfaceModel{Name: types.StringValue(t.Name), Weight: optInt64(t.Weight)})
	}
	return m
}

func notifyFrom(n model.Notify) notifyModel {
	return notifyModel{
		NotifyMaster: optString(n.Master), NotifyBackup: optString(n.Backup), NotifyFault: optString(n.Fault),
		NotifyStop: optString(n.Stop), Notify: optString(n.Any),
	}
}

// optString is null for "", as an unset attribute.
func optString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// optInt64 is null for 0, as an unset attribute.
func optInt64(i int) types.Int64 {
	if i == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(int64(i))
}

// optTrue is null for false, as an unset attribute.
func optTrue(b bool) types.Bool {
	if !b {
		return types.BoolNull()
	}
	return types.BoolValue(true)
}

// normalRoutes makes nil and empty route and nexthop lists equal.
func normalRoutes(rs []model.Route) []model.Route {
	if len(rs) == 0 {
		return nil
	}
	for i := range rs {
		if len(rs[i].Nexthops) == 0 {
			rs[i].Nexthops = nil
		}
	}
	return rs
}
