package wire

import "strings"

// The keys of stored objects, built and split here only: the provider,
// the cluster layer and the agent all name objects through these.

// DirectorKey is the one director object of a host.
var DirectorKey = Key{Kind: KindDirector, ID: "director"}

// HAProxySettingsKey is the one haproxy settings object of a host.
var HAProxySettingsKey = Key{Kind: KindHAProxySettings, ID: "haproxy"}

// VirtualServerKey is the object of the service with model key service
// (model.VirtualServer.Key: tcp/10.0.0.10:80, fwmark/7, group/web/tcp).
func VirtualServerKey(service string) Key { return Key{Kind: KindVirtualServer, ID: service} }

// RealServerID is the object ID of destination dest (address:port) of a
// service: "<service key>/<address:port>".
func RealServerID(service, dest string) string { return service + "/" + dest }

// RealServerKey is the object of destination dest of a service.
func RealServerKey(service, dest string) Key {
	return Key{Kind: KindRealServer, ID: RealServerID(service, dest)}
}

// RealServerHostKey is the real-server side of the real server whose
// object ID is id, stored on the real server's own host.
func RealServerHostKey(id string) Key { return Key{Kind: KindRealServerHost, ID: id} }

// HAProxyFrontendKey is the object of the frontend named name.
func HAProxyFrontendKey(name string) Key { return Key{Kind: KindHAProxyFrontend, ID: name} }

// HAProxyBackendKey is the object of the backend named name, a backend of
// its own that frontends of the host share.
func HAProxyBackendKey(name string) Key { return Key{Kind: KindHAProxyBackend, ID: name} }

// SplitRealServerID splits a real server object ID into its service key
// and its destination (address:port); ok is false for an ID of another
// shape. The destination is what follows the last "/" (a service key
// holds "/" too, an address:port none).
func SplitRealServerID(id string) (service, dest string, ok bool) {
	i := strings.LastIndex(id, "/")
	if i <= 0 || i == len(id)-1 {
		return "", "", false
	}
	return id[:i], id[i+1:], true
}

// HAProxyCertificateKey is the object of the certificate named name.
func HAProxyCertificateKey(name string) Key { return Key{Kind: KindHAProxyCertificate, ID: name} }
