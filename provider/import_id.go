package provider

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The ids of lvs_virtual_server and lvs_real_server, which are also their
// import ids, say what the object is and where it lives:
//
//	tcp/10.0.0.10:80@dir1,dir2                  a virtual server on two directors
//	fwmark/7@dir1                               a fwmark service (fwmark6/7 for IPv6)
//	udp/[2001:db8::10]:53@dir1                  an IPv6 service
//	tcp/10.0.0.10:80/192.168.1.10:80@dir1,dir2  a real server of the first one
//
// Before the "@" is the object's key on each director, exactly the ID of
// its wire.Object (model.VirtualServer.Key, and "<virtual server
// key>/<address:port>" for a real server); after it, the directors as the
// configuration names them (the hosts of `directors`), comma-separated, in
// sorted order so that an id does not depend on the order they were written.

// vsIdentity is the part of a virtual server its key encodes.
type vsIdentity struct {
	Address  netip.Addr
	Port     int
	Protocol string
	Fwmark   uint32
	Family   string // inet or inet6, for fwmark services
	Group    string // a keepalived virtual_server_group's name: group/NAME/PROTOCOL
}

// virtualServer returns a model virtual server with only the identity set
// (protocol and family as the key spells them).
func (id vsIdentity) virtualServer() model.VirtualServer {
	return model.VirtualServer{Address: id.Address, Port: id.Port, Protocol: id.Protocol, Fwmark: id.Fwmark, Family: id.Family, Group: id.Group}
}

// key is the identity's model key.
func (id vsIdentity) key() string {
	vs := id.virtualServer()
	return vs.Key()
}

// joinID builds an id from an object key and its directors.
func joinID(key string, directors []string) string {
	d := slices.Clone(directors)
	slices.Sort(d)
	return key + "@" + strings.Join(d, ",")
}

// splitID splits an id at the "@" into the key and the directors.
func splitID(id string) (key string, directors []string, err error) {
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

// parseVSKey reads a virtual server key: tcp/10.0.0.10:80,
// udp/[2001:db8::1]:53, sctp/..., fwmark/7 or fwmark6/7.
func parseVSKey(key string) (vsIdentity, error) {
	kind, rest, ok := strings.Cut(key, "/")
	if !ok || rest == "" {
		return vsIdentity{}, fmt.Errorf("virtual server %q: want PROTOCOL/ADDRESS:PORT (tcp/10.0.0.10:80) or fwmark/MARK", key)
	}
	switch kind {
	case "group":
		name, proto, ok := strings.Cut(rest, "/")
		if !ok || name == "" || !slices.Contains(model.Protocols, proto) {
			return vsIdentity{}, fmt.Errorf("virtual server %q: want group/NAME/PROTOCOL, such as group/web/tcp", key)
		}
		return vsIdentity{Group: name, Protocol: proto}, nil
	case "fwmark", "fwmark6":
		mark, err := strconv.ParseUint(rest, 10, 32)
		if err != nil || mark == 0 {
			return vsIdentity{}, fmt.Errorf("virtual server %q: %q is not a firewall mark from 1 to 4294967295", key, rest)
		}
		id := vsIdentity{Fwmark: uint32(mark), Family: "inet"}
		if kind == "fwmark6" {
			id.Family = "inet6"
		}
		return id, nil
	}
	if !slices.Contains(model.Protocols, kind) {
		return vsIdentity{}, fmt.Errorf("virtual server %q: %q is neither a protocol (%s) nor fwmark",
			key, kind, strings.Join(model.Protocols, ", "))
	}
	ap, err := netip.ParseAddrPort(rest)
	if err != nil {
		return vsIdentity{}, fmt.Errorf("virtual server %q: %q is not ADDRESS:PORT (IPv6 in brackets: [2001:db8::1]:80)", key, rest)
	}
	if ap.Addr().Zone() != "" {
		return vsIdentity{}, fmt.Errorf("virtual server %q: an IPVS service address has no zone", key)
	}
	return vsIdentity{Address: ap.Addr().Unmap(), Port: int(ap.Port()), Protocol: kind}, nil
}

// vsID is a parsed virtual server id.
type vsID struct {
	vsIdentity
	Directors []string
}

// parseVSID reads a virtual server id such as tcp/10.0.0.10:80@dir1,dir2.
func parseVSID(id string) (vsID, error) {
	key, dirs, err := splitID(id)
	if err != nil {
		return vsID{}, fmt.Errorf("virtual server id %w; want for example tcp/10.0.0.10:80@dir1,dir2 or fwmark/7@dir1", err)
	}
	ident, err := parseVSKey(key)
	if err != nil {
		return vsID{}, err
	}
	if ident.key() != key {
		return vsID{}, fmt.Errorf("virtual server %q: write it as %q", key, ident.key())
	}
	return vsID{vsIdentity: ident, Directors: dirs}, nil
}

// String is the id in its canonical form.
func (v vsID) String() string { return joinID(v.key(), v.Directors) }

// rsID is a parsed real server id.
type rsID struct {
	VS      vsID
	Address netip.Addr
	Port    int
}

// parseRSID reads a real server id such as
// tcp/10.0.0.10:80/192.168.1.10:80@dir1,dir2.
func parseRSID(id string) (rsID, error) {
	key, dirs, err := splitID(id)
	if err != nil {
		return rsID{}, fmt.Errorf("real server id %w; want for example tcp/10.0.0.10:80/192.168.1.10:80@dir1,dir2", err)
	}
	i := strings.LastIndex(key, "/")
	if i <= 0 {
		return rsID{}, fmt.Errorf("real server id %q: want VIRTUAL_SERVER/ADDRESS:PORT@DIRECTORS, such as tcp/10.0.0.10:80/192.168.1.10:80@dir1", id)
	}
	ident, err := parseVSKey(key[:i])
	if err != nil {
		return rsID{}, fmt.Errorf("real server id %q: %w", id, err)
	}
	if ident.key() != key[:i] {
		return rsID{}, fmt.Errorf("real server id %q: write the virtual server as %q", id, ident.key())
	}
	ap, err := netip.ParseAddrPort(key[i+1:])
	if err != nil {
		return rsID{}, fmt.Errorf("real server id %q: %q is not ADDRESS:PORT (IPv6 in brackets)", id, key[i+1:])
	}
	return rsID{VS: vsID{vsIdentity: ident, Directors: dirs}, Address: ap.Addr().Unmap(), Port: int(ap.Port())}, nil
}

// destKey is the real server's key within its virtual server: address:port.
func (r rsID) destKey() string { return netip.AddrPortFrom(r.Address, uint16(r.Port)).String() }

// objectID is the real server's wire object id on each director.
func (r rsID) objectID() string { return r.VS.key() + "/" + r.destKey() }

// String is the id in its canonical form.
func (r rsID) String() string { return joinID(r.objectID(), r.VS.Directors) }
