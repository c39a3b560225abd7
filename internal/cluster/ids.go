// Package cluster is the Terraform-free domain between the provider's
// resources and the hosts: the identities of the objects the user names
// (one builder and one parser per id), and a View of one host's
// observation that answers, per object, what the host stores, what it
// runs and what that means (in the kernel, down by a health check, not
// rendered by design, gone), with indexed lookups so that the reads of a
// run cost one pass over each observation, not one per resource.
//
// It imports no terraform-plugin-framework package: everything here is
// tested with plain go test.
package cluster

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// The ids of lvs_virtual_server and lvs_real_server, which are also their
// import ids, say what the object is and where it lives:
//
//	tcp/10.0.0.10:80@dir1,dir2                  a virtual server on two directors
//	fwmark/7@dir1                               a fwmark service (fwmark6/7 for IPv6)
//	udp/[2001:db8::10]:53@dir1                  an IPv6 service
//	group/web/tcp@dir1                          a keepalived virtual_server_group service
//	tcp/10.0.0.10:80/192.168.1.10:80@dir1,dir2  a real server of the first one
//
// Before the "@" is the object's key on each director, exactly the ID of
// its wire.Object (model.VirtualServer.Key, and wire.RealServerID for a
// real server); after it, the directors as the configuration names them
// (the hosts of `directors`), comma-separated, in sorted order so that an
// id does not depend on the order they were written.

// Service is the part of a virtual server its key encodes.
type Service struct {
	Address  netip.Addr
	Port     int
	Protocol string
	Fwmark   uint32
	Family   string // inet or inet6, for fwmark services
	Group    string // a keepalived virtual_server_group's name: group/NAME/PROTOCOL
}

// ServiceOf is the identity of vs.
func ServiceOf(vs *model.VirtualServer) Service {
	return Service{Address: vs.Address, Port: vs.Port, Protocol: vs.Protocol, Fwmark: vs.Fwmark, Family: vs.Family, Group: vs.Group}
}

// VirtualServer returns a model virtual server with only the identity set
// (protocol and family as the key spells them).
func (s Service) VirtualServer() model.VirtualServer {
	return model.VirtualServer{Address: s.Address, Port: s.Port, Protocol: s.Protocol, Fwmark: s.Fwmark, Family: s.Family, Group: s.Group}
}

// Key is the service's model key, the ID of its object on a director.
func (s Service) Key() string {
	vs := s.VirtualServer()
	return vs.Key()
}

// JoinID builds an id from an object key and its directors.
func JoinID(key string, directors []string) string {
	d := slices.Clone(directors)
	slices.Sort(d)
	return key + "@" + strings.Join(d, ",")
}

// SplitID splits an id at the "@" into the key and the directors (sorted).
func SplitID(id string) (key string, directors []string, err error) {
	key, list, ok := strings.Cut(id, "@")
	if !ok || key == "" || list == "" {
		return "", nil, fmt.Errorf("%q has no \"@\" followed by the directors", id)
	}
	for _, d := range strings.Split(list, ",") {
		d = strings.TrimSpace(d)
		if d == "" {
			return "", nil, fmt.Errorf("%q names an empty director", id)
		}
		if slices.Contains(directors, d) {
			return "", nil, fmt.Errorf("%q names director %s twice", id, d)
		}
		directors = append(directors, d)
	}
	slices.Sort(directors)
	return key, directors, nil
}

// ParseServiceKey reads a virtual server key: tcp/10.0.0.10:80,
// udp/[2001:db8::1]:53, sctp/..., fwmark/7, fwmark6/7 or group/NAME/PROTO.
func ParseServiceKey(key string) (Service, error) {
	kind, rest, ok := strings.Cut(key, "/")
	if !ok || rest == "" {
		return Service{}, fmt.Errorf("virtual server %q: want PROTOCOL/ADDRESS:PORT (tcp/10.0.0.10:80) or fwmark/MARK", key)
	}
	switch kind {
	case "group":
		name, proto, ok := strings.Cut(rest, "/")
		if !ok || name == "" || !slices.Contains(model.Protocols, proto) {
			return Service{}, fmt.Errorf("virtual server %q: want group/NAME/PROTOCOL, such as group/web/tcp", key)
		}
		return Service{Group: name, Protocol: proto}, nil
	case "fwmark", "fwmark6":
		mark, err := strconv.ParseUint(rest, 10, 32)
		if err != nil || mark == 0 {
			return Service{}, fmt.Errorf("virtual server %q: %q is not a firewall mark from 1 to 4294967295", key, rest)
		}
		id := Service{Fwmark: uint32(mark), Family: "inet"}
		if kind == "fwmark6" {
			id.Family = "inet6"
		}
		return id, nil
	}
	if !slices.Contains(model.Protocols, kind) {
		return Service{}, fmt.Errorf("virtual server %q: %q is neither a protocol (%s) nor fwmark",
			key, kind, strings.Join(model.Protocols, ", "))
	}
	ap, err := netip.ParseAddrPort(rest)
	if err != nil {
		return Service{}, fmt.Errorf("virtual server %q: %q is not ADDRESS:PORT (IPv6 in brackets: [2001:db8::1]:80)", key, rest)
	}
	if ap.Addr().Zone() != "" {
		return Service{}, fmt.Errorf("virtual server %q: an IPVS service address has no zone", key)
	}
	return Service{Address: ap.Addr().Unmap(), Port: int(ap.Port()), Protocol: kind}, nil
}

// VirtualServerID is a virtual server on its directors.
type VirtualServerID struct {
	Service
	Directors []string
}

// ParseVirtualServerID reads a virtual server id such as
// tcp/10.0.0.10:80@dir1,dir2; only the canonical spelling is accepted.
func ParseVirtualServerID(id string) (VirtualServerID, error) {
	key, dirs, err := SplitID(id)
	if err != nil {
		return VirtualServerID{}, fmt.Errorf("virtual server id %w; want for example tcp/10.0.0.10:80@dir1,dir2 or fwmark/7@dir1", err)
	}
	s, err := ParseServiceKey(key)
	if err != nil {
		return VirtualServerID{}, err
	}
	if s.Key() != key {
		return VirtualServerID{}, fmt.Errorf("virtual server %q: write it as %q", key, s.Key())
	}
	return VirtualServerID{Service: s, Directors: dirs}, nil
}

// String is the id in its canonical form.
func (v VirtualServerID) String() string { return JoinID(v.Key(), v.Directors) }

// ObjectKey is the service's object on each director.
func (v VirtualServerID) ObjectKey() wire.Key { return wire.VirtualServerKey(v.Key()) }

// RealServerID is a real server of a virtual server.
type RealServerID struct {
	VS      VirtualServerID
	Address netip.Addr
	Port    int
}

// ParseRealServerID reads a real server id such as
// tcp/10.0.0.10:80/192.168.1.10:80@dir1,dir2.
func ParseRealServerID(id string) (RealServerID, error) {
	key, dirs, err := SplitID(id)
	if err != nil {
		return RealServerID{}, fmt.Errorf("real server id %w; want for example tcp/10.0.0.10:80/192.168.1.10:80@dir1,dir2", err)
	}
	svc, dest, ok := wire.SplitRealServerID(key)
	if !ok {
		return RealServerID{}, fmt.Errorf("real server id %q: want VIRTUAL_SERVER/ADDRESS:PORT@DIRECTORS, such as tcp/10.0.0.10:80/192.168.1.10:80@dir1", id)
	}
	s, err := ParseServiceKey(svc)
	if err != nil {
		return RealServerID{}, fmt.Errorf("real server id %q: %w", id, err)
	}
	if s.Key() != svc {
		return RealServerID{}, fmt.Errorf("real server id %q: write the virtual server as %q", id, s.Key())
	}
	ap, err := netip.ParseAddrPort(dest)
	if err != nil {
		return RealServerID{}, fmt.Errorf("real server id %q: %q is not ADDRESS:PORT (IPv6 in brackets)", id, dest)
	}
	return RealServerID{VS: VirtualServerID{Service: s, Directors: dirs}, Address: ap.Addr().Unmap(), Port: int(ap.Port())}, nil
}

// DestKey is the real server's key within its virtual server: address:port.
func (r RealServerID) DestKey() string { return netip.AddrPortFrom(r.Address, uint16(r.Port)).String() }

// ObjectID is the real server's wire object ID on each director (and of
// its real-server side on its own host).
func (r RealServerID) ObjectID() string { return wire.RealServerID(r.VS.Key(), r.DestKey()) }

// ObjectKey is the real server's object on each director.
func (r RealServerID) ObjectKey() wire.Key { return wire.RealServerKey(r.VS.Key(), r.DestKey()) }

// HostKey is the real server's real-server side on its own host.
func (r RealServerID) HostKey() wire.Key { return wire.RealServerHostKey(r.ObjectID()) }

// String is the id in its canonical form.
func (r RealServerID) String() string { return JoinID(r.ObjectID(), r.VS.Directors) }
