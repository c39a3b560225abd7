package cluster

import (
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// The rules of adoption and ownership (DESIGN principle 3): the agent
// never takes over what it did not write unless the request names it in
// Adopt, which only an import leads to. These say what an adoption puts.

// ServiceAdoption is what adopting the IPVS service of key takes over on
// a director where it runs without being stored (built by hand, then
// imported into Terraform): the key to adopt, and its destinations as
// they run (real server objects read from the kernel), so that adopting
// it does not remove them; their lvs_real_server resources, when imported
// too, then replace them. Nothing when the director stores the service,
// does not run it, or runs it as ours.
func (v *View) ServiceAdoption(key wire.Key) ([]wire.Key, []wire.Object) {
	if v.Stored(key) {
		return nil, nil
	}
	s := v.KernelService(key.ID)
	if s == nil || s.Ours {
		return nil, nil
	}
	var puts []wire.Object
	for i := range s.Service.RealServers {
		rs := s.Service.RealServers[i]
		k := wire.RealServerKey(key.ID, rs.Key(&s.Service))
		if !v.Stored(k) {
			puts = append(puts, wire.Object{Key: k, RealServer: &rs})
		}
	}
	return []wire.Key{key}, puts
}

// KeepalivedAdoption picks, from a host import, the virtual and real
// servers a director adoption puts (those the host does not store) and the
// keys it adopts. Services the import read from the IPVS table rather than
// keepalived.conf (the imported director then has the netlink engine) are
// left out: keepalived never knew them, so its reload leaves them alone,
// and an lvs_virtual_server import adopts them one by one.
func (v *View) KeepalivedAdoption(imported []wire.Object) ([]wire.Object, []wire.Key) {
	adopt := []wire.Key{wire.DirectorKey}
	fromFile := false
	for _, o := range imported {
		if o.Key == wire.DirectorKey && o.Director != nil {
			fromFile = o.Director.Engine != "netlink"
		}
	}
	if !fromFile {
		return nil, adopt
	}
	var put []wire.Object
	for _, o := range imported {
		if o.Kind != wire.KindVirtualServer && o.Kind != wire.KindRealServer {
			continue
		}
		if v.Stored(o.Key) {
			continue
		}
		put = append(put, o)
		if o.Kind == wire.KindVirtualServer {
			adopt = append(adopt, o.Key)
		}
	}
	return put, adopt
}

// ServiceRemoval is what deleting the service of key from a director
// deletes: the service and every real server stored under it (the agent
// refuses real servers without their virtual server).
func (v *View) ServiceRemoval(key string) []wire.Key {
	return append([]wire.Key{wire.VirtualServerKey(key)}, v.RealServersOf(key)...)
}
