// Package wire is the versioned JSON document between the provider and the
// agent: one Request on the agent's stdin, one Response on its stdout.
// Secrets (VRRP passwords) travel only here, never in argv or logs.
//
// The provider sends at most one apply per host and run, carrying every
// object it puts and deletes (DESIGN.md principle 5); one observe serves
// every read of a host.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Version is the protocol version. An agent refuses requests of another
// version with ExitBadRequest, so a provider never drives an agent it does
// not understand. Version 2: the model's values by their json tags
// (snake_case), as in stored documents of format 2.
const Version = 2

// Verb is what the agent is asked to do.
type Verb string

const (
	// VerbApply stores the Put objects, removes the Delete ones, and
	// rebuilds the host's files and kernel state from all stored objects.
	VerbApply Verb = "apply"
	// VerbObserve reports what the host really runs.
	VerbObserve Verb = "observe"
	// VerbStatus reports live state: VRRP states, IPVS counters, server health.
	VerbStatus Verb = "status"
	// VerbImport reads hand-built state (IPVS table, keepalived.conf,
	// haproxy.cfg) into objects, without changing anything.
	VerbImport Verb = "import"
	// VerbRestore re-applies stored state at boot (sysctls, addresses,
	// netlink-owned IPVS).
	VerbRestore Verb = "restore"
	// VerbVersion prints the agent's version.
	VerbVersion Verb = "version"
)

// Exit codes of the agent process. The JSON response says more; the code
// lets a shell or the provider classify the failure without parsing.
const (
	ExitOK          = 0
	ExitFailed      = 1 // a step failed; the host was left as it was before the request
	ExitBadRequest  = 2 // unreadable request, wrong version, invalid objects
	ExitLocked      = 3 // another agent held the host lock past the timeout
	ExitUnsupported = 4 // the host cannot do it (no IPVS in the kernel, no keepalived)
	ExitForeign     = 5 // a file or IPVS service we did not write is in the way; import it first
	ExitConflict    = 6 // every write was refused: another resource owns what it creates (Response.Refused)
)

// Kind names a type of object stored on a host.
type Kind string

const (
	KindDirector        Kind = "director"
	KindVirtualServer   Kind = "virtual_server"
	KindRealServer      Kind = "real_server"
	KindRealServerHost  Kind = "real_server_host"
	KindHAProxySettings Kind = "haproxy_settings"
	KindHAProxyFrontend Kind = "haproxy_frontend"
	KindHAProxyBackend  Kind = "haproxy_backend"
	// KindHAProxyCertificate is a TLS certificate and key that binds of
	// the host's frontends name.
	KindHAProxyCertificate Kind = "haproxy_certificate"
)

// Key identifies one object on a host: a kind and an ID unique within it
// (the director is "director"; a virtual server its model Key, such as
// tcp/10.0.0.10:80; a real server "<virtual server key>/<address:port>";
// an haproxy frontend its name).
type Key struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
}

func (k Key) String() string { return string(k.Kind) + " " + k.ID }

// Object is one desired-state document. Exactly the field of its kind is
// set, and VirtualServerGroup only beside the VirtualServer that names it.
type Object struct {
	Key
	// Owner names the resource that wrote the object, such as
	// "lvs_virtual_server tcp/10.0.0.10:80@dir1", so that a conflict names
	// both resources. It is not part of the object's content: two writes
	// that differ only in Owner are the same object. Empty on objects
	// stored before owners were recorded, and on imported ones.
	Owner         string               `json:"owner,omitempty"`
	Director      *model.Director      `json:"director,omitempty"`
	VirtualServer *model.VirtualServer `json:"virtual_server,omitempty"`
	// VirtualServerGroup is the keepalived virtual_server_group a virtual
	// server serves (VirtualServer.Group is its Name). Several objects may
	// carry one group (tcp and udp services over the same addresses); they
	// must carry the same definition.
	VirtualServerGroup *model.VirtualServerGroup `json:"virtual_server_group,omitempty"`
	RealServer         *model.RealServer         `json:"real_server,omitempty"`
	RealServerHost     *model.RealServerHost     `json:"real_server_host,omitempty"`
	HAProxySettings    *HAProxySettings          `json:"haproxy_settings,omitempty"`
	HAProxyFrontend    *HAProxyFrontend          `json:"haproxy_frontend,omitempty"`
	// HAProxyBackend is a backend of its own, which several frontends of
	// the host may use (default_backend, use_backend).
	HAProxyBackend *model.HAProxyBackend `json:"haproxy_backend,omitempty"`
	// HAProxyCertificate is a certificate with its private key, which the
	// agent writes to a 0600 file of its own (model.HAProxyCertDir).
	HAProxyCertificate *model.HAProxyCertificate `json:"haproxy_certificate,omitempty"`
}

// HAProxySettings are an haproxy host's global and defaults sections, and
// its resolvers sections (which servers given by host name may name).
type HAProxySettings struct {
	Global    model.HAProxyGlobal      `json:"global"`
	Defaults  model.HAProxyDefaults    `json:"defaults"`
	Resolvers []model.HAProxyResolvers `json:"resolvers,omitzero"`
}

// HAProxyFrontend is one frontend with the backend it owns, if any: a
// frontend that routes only to backends of their own (haproxy_backend
// objects) has a zero Backend, which is not rendered.
type HAProxyFrontend struct {
	Frontend model.HAProxyFrontend `json:"frontend"`
	Backend  model.HAProxyBackend  `json:"backend,omitzero"`
}

// OwnsBackend reports whether the frontend carries a backend of its own.
func (f *HAProxyFrontend) OwnsBackend() bool { return f.Backend.Name != "" }

// Request is what the provider writes to the agent's stdin.
type Request struct {
	Version int      `json:"version"`
	Verb    Verb     `json:"verb"`
	Put     []Object `json:"put,omitempty"`
	Delete  []Key    `json:"delete,omitempty"`
	// LockTimeoutSeconds bounds the wait for the host lock; zero means 60.
	LockTimeoutSeconds int `json:"lock_timeout_seconds,omitempty"`
	// Adopt lists Put objects the user imported (terraform import): the
	// agent may take over what already exists for them instead of refusing
	// it as foreign: the IPVS service of a virtual server, the
	// keepalived.conf of a director, the haproxy.cfg of haproxy settings.
	Adopt []Key `json:"adopt,omitempty"`
	// Writers split Put and Delete into the writes a group commit
	// gathered (one per resource step), in order: writer i owns the next
	// Puts objects of Put and the next Deletes keys of Delete. The agent
	// refuses a writer whose write conflicts with the store or with an
	// earlier writer (see Refusal) and applies the others. Empty: the
	// whole request is one writer, which creates nothing.
	Writers []Writer `json:"writers,omitempty"`
}

// Writer is one write of a request (see Request.Writers).
type Writer struct {
	Puts    int `json:"puts,omitempty"`
	Deletes int `json:"deletes,omitempty"`
	// Create lists the keys of its puts that the write creates (a new
	// resource, or a resource's first object on this host): such a key
	// must not be stored already with other content, nor be put with
	// other content by an earlier writer. The same content is accepted,
	// so that an apply interrupted after it stored the object converges.
	Create []Key `json:"create,omitempty"`
}

// Refusal is a writer the agent refused before changing anything, because
// its write conflicts with what another resource stores on the host: the
// key it creates is stored with other content, or one of its frontends
// binds an address:port another frontend binds, or names a backend
// another object holds. The other writers of the request were applied.
type Refusal struct {
	Writer int `json:"writer"`
	Error
	// With is the object it conflicts with, stored or put by an earlier
	// writer of the request, and WithOwner the resource that wrote it.
	With      *Key   `json:"with,omitempty"`
	WithOwner string `json:"with_owner,omitempty"`
}

// Response is what the agent writes to stdout, whatever the exit code.
type Response struct {
	Version      int    `json:"version"`
	AgentVersion string `json:"agent_version"`
	Error        *Error `json:"error,omitempty"`
	// Applied reports what an apply changed; nil for other verbs.
	Applied *ApplyReport `json:"applied,omitempty"`
	// Observed is the host as it really runs (apply, observe, status).
	Observed *Observed `json:"observed,omitempty"`
	// Imported holds the objects an import found.
	Imported []Object `json:"imported,omitempty"`
	// Warnings say what an import left out because the model cannot hold
	// it (with file:line for configuration files), and what it changed to
	// fit the objects (a listen split into a frontend and a backend). Of
	// an apply, what the user should know although it succeeded: a
	// hand-written config kept aside, a keepalived -t warning accepted.
	Warnings []string `json:"warnings,omitempty"`
	// Refused are the writers of an apply the agent refused (Request.Writers).
	Refused []Refusal `json:"refused,omitempty"`
}

// Error is a failed step, naming the object and the step, with the full
// stderr of the tool that failed (keepalived -t, haproxy -c ALERT lines).
type Error struct {
	Code    int    `json:"code"`
	Step    string `json:"step"`
	Object  string `json:"object,omitempty"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`
}

func (e *Error) Error() string {
	msg := e.Step + ": " + e.Message
	if e.Object != "" {
		msg = e.Object + ": " + msg
	}
	if e.Detail != "" {
		msg += "\n" + e.Detail
	}
	return msg
}

// ApplyReport says what an apply did, for the provider's debug logs and the
// cost-per-host accounting.
type ApplyReport struct {
	Changed []Key `json:"changed,omitempty"`
	// Recovered is the start time (RFC 3339) of an earlier apply that had
	// stopped part-way and that this one completed (rolled forward).
	Recovered string         `json:"recovered,omitempty"`
	Reloads   map[string]int `json:"reloads,omitempty"` // daemon -> reloads done (0 or 1)
	Netlink   int            `json:"netlink_ops,omitempty"`
	Files     []string       `json:"files,omitempty"` // files written
}

// Observed is what a host really runs, in the model's terms.
type Observed struct {
	Hostname string `json:"hostname"`
	Machine  string `json:"machine"` // uname -m
	Kernel   string `json:"kernel"`
	// AgentVersion is the version of the agent that observed, so that a
	// read served from an observation can report it.
	AgentVersion string `json:"agent_version,omitempty"`
	// Interrupted says that the last apply stopped part-way (its journal
	// is still on the host); Objects are then what it set out to store, and
	// the next apply completes it.
	Interrupted string `json:"interrupted,omitempty"`
	// Errors maps a section of the observation (ObserveIPVS,
	// ObserveAddresses, ObserveSysctls, ObserveFwmarks, ObserveRoutes) to the error that kept it from
	// being read. A section that failed is unknown, never empty: what it
	// would list is not "gone" (see Err).
	Errors map[string]string `json:"errors,omitempty"`
	// IPVSAvailable is false when the kernel has no IPVS.
	IPVSAvailable bool `json:"ipvs_available"`
	// Objects are the desired-state documents stored on the host.
	Objects []Object `json:"objects,omitempty"`
	// Sysctls holds the current value of every sysctl a stored object manages.
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// Addresses are the addresses on the devices stored objects manage.
	Addresses []model.HostAddress `json:"addresses,omitempty"`
	// IPVS is the kernel's table, ours and foreign, with live counters.
	IPVS []IPVSService `json:"ipvs,omitempty"`
	// Fwmarks is the agent's nftables table of firewall marks, read back
	// on hosts whose fwmark services have a match or had one (nil elsewhere).
	Fwmarks *FwmarkTable `json:"fwmarks,omitempty"`
	// Routes and Rules are the kernel's routes and policy routing rules
	// that stand where the director's static routes and rules go (a route
	// of the same family, destination, table and metric; a rule of the
	// same family and preference), whoever installed them, read back on a
	// director that has static routes or rules (nil elsewhere). A static
	// route or rule without one holding it was removed (or changed) by
	// hand. When the read failed, Errors[ObserveRoutes] says so and these
	// are unknown.
	Routes     []model.Route `json:"routes,omitempty"`
	Rules      []model.Rule  `json:"rules,omitempty"`
	Keepalived *DaemonState  `json:"keepalived,omitempty"`
	HAProxy    *DaemonState  `json:"haproxy,omitempty"`
}

// The sections of an observation that can fail on their own.
const (
	ObserveIPVS      = "ipvs"
	ObserveAddresses = "addresses"
	ObserveSysctls   = "sysctls"
	ObserveFwmarks   = "fwmarks"
	// ObserveRoutes covers Routes and Rules.
	ObserveRoutes = "routes"
)

// FwmarkTable is the agent's nftables table of firewall marks as read back.
type FwmarkTable struct {
	// Present is false when the table (or its chain) does not exist.
	Present bool `json:"present"`
	// Rules are the chain's rules of the shape the agent writes.
	Rules []FwmarkRuleState `json:"rules,omitempty"`
	// Foreign counts the chain's rules of another shape (added or
	// changed by hand); the next apply replaces them.
	Foreign int `json:"foreign,omitempty"`
}

// FwmarkRuleState is one mark rule with the packets it marked.
type FwmarkRuleState struct {
	model.FwmarkRule
	Packets uint64 `json:"packets"`
}

// MarkRules are the rules of one mark.
func (t *FwmarkTable) MarkRules(mark uint32) []model.FwmarkRule {
	if t == nil {
		return nil
	}
	var out []model.FwmarkRule
	for _, r := range t.Rules {
		if r.Mark == mark {
			out = append(out, r.FwmarkRule)
		}
	}
	return out
}

// Err is nil when every section of the observation was read; otherwise an
// error naming each section that failed and why, sorted by section. A
// reader must not take a failed section's absence as removal.
func (o *Observed) Err() error {
	if len(o.Errors) == 0 {
		return nil
	}
	sections := make([]string, 0, len(o.Errors))
	for s := range o.Errors {
		sections = append(sections, s)
	}
	sort.Strings(sections)
	errs := make([]error, len(sections))
	for i, s := range sections {
		errs[i] = fmt.Errorf("observe %s: %s", s, o.Errors[s])
	}
	return errors.Join(errs...)
}

// IPVSService is one kernel IPVS service as read back.
type IPVSService struct {
	Service      model.VirtualServer `json:"service"`
	Destinations []IPVSDestination   `json:"destinations,omitempty"`
	// Ours is true when a stored object (or keepalived config we wrote)
	// declares this service.
	Ours bool `json:"ours"`
}

// IPVSDestination holds a destination's live counters.
type IPVSDestination struct {
	Key           string `json:"key"` // address:port
	Weight        int    `json:"weight"`
	ActiveConns   int    `json:"active_conns"`
	InactiveConns int    `json:"inactive_conns"`
	PersistConns  int    `json:"persist_conns"`
}

// DaemonState is a keepalived or haproxy daemon as observed.
type DaemonState struct {
	Running bool `json:"running"`
	// ConfigOurs is true when the installed config carries our marker.
	ConfigOurs bool `json:"config_ours"`
	// ConfigMatches is true when the installed config is byte-equal to what
	// the stored objects render to.
	ConfigMatches bool   `json:"config_matches"`
	ConfigSHA256  string `json:"config_sha256,omitempty"`
	// VRRP maps instance name to MASTER, BACKUP or FAULT (keepalived).
	VRRP map[string]string `json:"vrrp,omitempty"`
	// Elections maps a VRRP instance to what keepalived says decides its
	// next election on this host: an instance in BACKUP that preempts with
	// a higher priority than the MASTER's is about to take over (keepalived).
	Elections map[string]VRRPElection `json:"vrrp_elections,omitempty"`
	// MissingVIPs maps a VRRP instance keepalived reports MASTER to the
	// virtual addresses (prefixes) that are not on their device: removed by
	// hand in a way keepalived did not see (it re-adds what it sees removed).
	// BACKUP and FAULT instances hold no VIPs and are never listed.
	MissingVIPs map[string][]string `json:"missing_vips,omitempty"`
	// Servers maps backend/server to UP, DOWN, MAINT (haproxy).
	Servers map[string]string `json:"servers,omitempty"`
	// CertificatesDrifted are the names of the stored certificates whose
	// file on the host is missing or not what the agent wrote (haproxy).
	CertificatesDrifted []string `json:"certificates_drifted,omitempty"`
}

// VRRPElection is one VRRP instance's standing in elections, from
// keepalived's JSON dump.
type VRRPElection struct {
	// Priority is the effective priority: the configured one moved by the
	// weights of tracked scripts and interfaces.
	Priority int `json:"priority"`
	// Preempt is false under nopreempt: a BACKUP never takes over from a
	// live MASTER of lower priority.
	Preempt bool `json:"preempt"`
	// PreemptDelay is how long, in seconds, a BACKUP that preempts waits
	// after its start before it does.
	PreemptDelay int `json:"preempt_delay,omitempty"`
}

// ReadRequest decodes and checks a request.
func ReadRequest(r io.Reader) (*Request, error) {
	var req Request
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("decoding request: %w", err)
	}
	if req.Version != Version {
		return nil, fmt.Errorf("request version %d, this agent speaks version %d", req.Version, Version)
	}
	for _, o := range req.Put {
		if err := o.check(); err != nil {
			return nil, err
		}
	}
	if err := req.checkWriters(); err != nil {
		return nil, err
	}
	return &req, nil
}

// checkWriters verifies that the writers share out Put and Delete exactly
// and create only keys they put.
func (r *Request) checkWriters() error {
	if len(r.Writers) == 0 {
		return nil
	}
	puts, dels := 0, 0
	for i, w := range r.Writers {
		if w.Puts < 0 || w.Deletes < 0 || puts+w.Puts > len(r.Put) || dels+w.Deletes > len(r.Delete) {
			return fmt.Errorf("writer %d: its %d puts and %d deletes are not in the request", i, w.Puts, w.Deletes)
		}
		for _, k := range w.Create {
			found := false
			for _, o := range r.Put[puts : puts+w.Puts] {
				found = found || o.Key == k
			}
			if !found {
				return fmt.Errorf("writer %d: creates %s, which it does not put", i, k)
			}
		}
		puts, dels = puts+w.Puts, dels+w.Deletes
	}
	if puts != len(r.Put) || dels != len(r.Delete) {
		return fmt.Errorf("the writers hold %d puts and %d deletes, the request %d and %d", puts, dels, len(r.Put), len(r.Delete))
	}
	return nil
}

// WriterRanges returns, for each writer, its slice of Put and of Delete;
// a request without writers is one writer holding everything.
func (r *Request) WriterRanges() (puts [][]Object, dels [][]Key, writers []Writer) {
	writers = r.Writers
	if len(writers) == 0 {
		writers = []Writer{{Puts: len(r.Put), Deletes: len(r.Delete)}}
	}
	p, d := 0, 0
	for _, w := range writers {
		puts = append(puts, r.Put[p:p+w.Puts])
		dels = append(dels, r.Delete[d:d+w.Deletes])
		p, d = p+w.Puts, d+w.Deletes
	}
	return puts, dels, writers
}

// check verifies that exactly the body of the object's kind is set.
func (o *Object) check() error {
	set := map[Kind]bool{
		KindDirector:           o.Director != nil,
		KindVirtualServer:      o.VirtualServer != nil,
		KindRealServer:         o.RealServer != nil,
		KindRealServerHost:     o.RealServerHost != nil,
		KindHAProxySettings:    o.HAProxySettings != nil,
		KindHAProxyFrontend:    o.HAProxyFrontend != nil,
		KindHAProxyBackend:     o.HAProxyBackend != nil,
		KindHAProxyCertificate: o.HAProxyCertificate != nil,
	}
	if _, known := set[o.Kind]; !known {
		return fmt.Errorf("object %s: unknown kind %q", o.Key, o.Kind)
	}
	for k, isSet := range set {
		if isSet != (k == o.Kind) {
			return fmt.Errorf("object %s: a %s object must carry exactly its own body", o.Key, o.Kind)
		}
	}
	if o.ID == "" {
		return fmt.Errorf("object of kind %s: empty id", o.Kind)
	}
	if g := o.VirtualServerGroup; g != nil {
		if o.Kind != KindVirtualServer {
			return fmt.Errorf("object %s: only a virtual_server object carries a virtual_server_group", o.Key)
		}
		if o.VirtualServer.Group != g.Name {
			return fmt.Errorf("object %s: carries virtual_server_group %q but its virtual server names group %q", o.Key, g.Name, o.VirtualServer.Group)
		}
	}
	return nil
}
