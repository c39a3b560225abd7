// Package ipvstest provides Fake, an in-memory IPVS table that records
// every call and refuses the calls the kernel would refuse (a duplicate
// create, an update or removal of something missing, an invalid service or
// destination), in the manner of seesaw's DummyLBInterface. It is not a
// stub: a test that drives it wrongly fails.
package ipvstest

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cloudflare/ipvs"

	lvsipvs "github.com/lvsops/terraform-provider-lvs/internal/ipvs"
)

// Errors the fake returns, wrapped with the call and the object; the
// kernel's equivalents are EEXIST, ESRCH, ENOENT and EINVAL.
var (
	ErrExists        = errors.New("already exists")
	ErrNoService     = errors.New("no such service")
	ErrNoDestination = errors.New("no such destination")
	ErrInvalid       = errors.New("invalid argument")
	ErrClosed        = errors.New("client is closed")
)

// Call is one recorded method call with its arguments.
type Call struct {
	Method      string // CreateService, UpdateDestination, Services, …
	Service     ipvs.Service
	Destination ipvs.Destination
}

// Writes are the methods that change the table: each is one netlink request.
var Writes = []string{
	"CreateService", "UpdateService", "RemoveService",
	"CreateDestination", "UpdateDestination", "RemoveDestination",
}

// String describes the call for test failure messages.
func (c Call) String() string {
	switch c.Method {
	case "Info", "Services", "Close":
		return c.Method
	case "CreateService", "UpdateService", "RemoveService", "Destinations":
		return c.Method + " " + lvsipvs.ServiceKey(c.Service)
	}
	return c.Method + " " + lvsipvs.DestinationKey(c.Destination) + " of " + lvsipvs.ServiceKey(c.Service)
}

// Fake is an in-memory lvsipvs.Client. The zero value is not usable; call New.
type Fake struct {
	mu       sync.Mutex
	services []*entry // in creation order
	calls    []Call
	failures map[string]error
	closed   bool
}

type entry struct {
	svc   ipvs.ServiceExtended
	dests []ipvs.DestinationExtended
}

var _ lvsipvs.Client = (*Fake)(nil)

// New returns an empty table.
func New() *Fake { return &Fake{failures: map[string]error{}} }

// Seed puts a service and its destinations in the table without recording
// a call, as if another tool (keepalived, ipvsadm) had made them. Invalid
// or duplicate entries panic: seeding is test setup.
func (f *Fake) Seed(svc ipvs.Service, dests ...ipvs.Destination) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.createService(svc); err != nil {
		panic("ipvstest: seed: " + err.Error())
	}
	for _, d := range dests {
		if err := f.createDestination(svc, d); err != nil {
			panic("ipvstest: seed: " + err.Error())
		}
	}
}

// SeedMissing is Seed of what the table lacks: the service when it is
// not there, and each destination it does not have yet (as keepalived
// adds what its config declares).
func (f *Fake) SeedMissing(svc ipvs.Service, dests ...ipvs.Destination) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, _, err := f.find(svc); err != nil {
		if err := f.createService(svc); err != nil {
			panic("ipvstest: seed: " + err.Error())
		}
	}
	e, _, _ := f.find(svc)
	for _, d := range dests {
		if !slices.ContainsFunc(e.dests, sameDest(d)) {
			if err := f.createDestination(svc, d); err != nil {
				panic("ipvstest: seed: " + err.Error())
			}
		}
	}
}

// Has reports whether the table holds svc, without recording a call.
func (f *Fake) Has(svc ipvs.Service) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, _, err := f.find(svc)
	return err == nil
}

// Unseed removes a service (dests nil) or the given destinations of it
// without recording a call, as another tool would; what is not there is
// left alone.
func (f *Fake) Unseed(svc ipvs.Service, dests ...ipvs.Destination) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, i, err := f.find(svc)
	if err != nil {
		return
	}
	if dests == nil {
		f.services = slices.Delete(f.services, i, i+1)
		return
	}
	for _, d := range dests {
		if j := slices.IndexFunc(e.dests, sameDest(d)); j >= 0 {
			e.dests = slices.Delete(e.dests, j, j+1)
		}
	}
}

// SetCounters sets a destination's live connection counters.
func (f *Fake) SetCounters(svc ipvs.Service, dest ipvs.Destination, active, inactive, persistent uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, i, err := f.findDest(svc, dest)
	if err != nil {
		return err
	}
	d := &e.dests[i]
	d.ActiveConnections, d.InactiveConnections, d.PersistentConnections = active, inactive, persistent
	return nil
}

// FailNext makes the next matching call fail with err (and not take
// effect). what is a method name ("CreateDestination") or one call as
// Call.String names it ("CreateDestination 10.0.0.21:80 of tcp/10.0.0.10:80").
func (f *Fake) FailNext(what string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[what] = err
}

// Calls returns every call made so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// WriteCalls returns the calls that changed the table, in order.
func (f *Fake) WriteCalls() []Call {
	var out []Call
	for _, c := range f.Calls() {
		if slices.Contains(Writes, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the recorded calls; the table stays.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// record notes a call and returns the error to fail it with, if any.
func (f *Fake) record(c Call) error {
	f.calls = append(f.calls, c)
	if f.closed && c.Method != "Close" {
		return fmt.Errorf("ipvstest: %s: %w", c, ErrClosed)
	}
	for _, what := range []string{c.String(), c.Method} {
		if err, ok := f.failures[what]; ok {
			delete(f.failures, what)
			return err
		}
	}
	return nil
}

// Info implements lvsipvs.Client.
func (f *Fake) Info() (ipvs.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Info"}); err != nil {
		return ipvs.Info{}, err
	}
	return ipvs.Info{Version: [3]int{1, 2, 1}, ConnectionTableSize: 4096}, nil
}

// Services implements lvsipvs.Client.
func (f *Fake) Services() ([]ipvs.ServiceExtended, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Services"}); err != nil {
		return nil, err
	}
	out := make([]ipvs.ServiceExtended, len(f.services))
	for i, e := range f.services {
		out[i] = e.svc
	}
	return out, nil
}

// CreateService implements lvsipvs.Client.
func (f *Fake) CreateService(svc ipvs.Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "CreateService", Service: svc}); err != nil {
		return err
	}
	return f.createService(svc)
}

func (f *Fake) createService(svc ipvs.Service) error {
	if err := checkService(svc); err != nil {
		return err
	}
	if _, _, err := f.find(svc); err == nil {
		return fmt.Errorf("ipvstest: create service %s: %w", lvsipvs.ServiceKey(svc), ErrExists)
	}
	svc.Flags |= ipvs.ServiceHashed // as the kernel reports it
	f.services = append(f.services, &entry{svc: ipvs.ServiceExtended{Service: svc}})
	return nil
}

// UpdateService implements lvsipvs.Client.
func (f *Fake) UpdateService(svc ipvs.Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "UpdateService", Service: svc}); err != nil {
		return err
	}
	if err := checkService(svc); err != nil {
		return err
	}
	e, _, err := f.find(svc)
	if err != nil {
		return err
	}
	svc.Flags |= ipvs.ServiceHashed
	e.svc.Service = svc
	return nil
}

// RemoveService implements lvsipvs.Client; the destinations go with it.
func (f *Fake) RemoveService(svc ipvs.Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "RemoveService", Service: svc}); err != nil {
		return err
	}
	_, i, err := f.find(svc)
	if err != nil {
		return err
	}
	f.services = slices.Delete(f.services, i, i+1)
	return nil
}

// Destinations implements lvsipvs.Client.
func (f *Fake) Destinations(svc ipvs.Service) ([]ipvs.DestinationExtended, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Destinations", Service: svc}); err != nil {
		return nil, err
	}
	e, _, err := f.find(svc)
	if err != nil {
		return nil, err
	}
	return slices.Clone(e.dests), nil
}

// CreateDestination implements lvsipvs.Client.
func (f *Fake) CreateDestination(svc ipvs.Service, dest ipvs.Destination) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "CreateDestination", Service: svc, Destination: dest}); err != nil {
		return err
	}
	return f.createDestination(svc, dest)
}

func (f *Fake) createDestination(svc ipvs.Service, dest ipvs.Destination) error {
	e, _, err := f.find(svc)
	if err != nil {
		return err
	}
	if err := checkDestination(e.svc.Service, dest); err != nil {
		return err
	}
	if slices.ContainsFunc(e.dests, sameDest(dest)) {
		return fmt.Errorf("ipvstest: create destination %s of %s: %w", lvsipvs.DestinationKey(dest), lvsipvs.ServiceKey(svc), ErrExists)
	}
	e.dests = append(e.dests, ipvs.DestinationExtended{Destination: dest})
	return nil
}

// UpdateDestination implements lvsipvs.Client; the counters stay.
func (f *Fake) UpdateDestination(svc ipvs.Service, dest ipvs.Destination) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "UpdateDestination", Service: svc, Destination: dest}); err != nil {
		return err
	}
	e, i, err := f.findDest(svc, dest)
	if err != nil {
		return err
	}
	if err := checkDestination(e.svc.Service, dest); err != nil {
		return err
	}
	e.dests[i].Destination = dest
	return nil
}

// RemoveDestination implements lvsipvs.Client.
func (f *Fake) RemoveDestination(svc ipvs.Service, dest ipvs.Destination) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "RemoveDestination", Service: svc, Destination: dest}); err != nil {
		return err
	}
	e, i, err := f.findDest(svc, dest)
	if err != nil {
		return err
	}
	e.dests = slices.Delete(e.dests, i, i+1)
	return nil
}

// Close implements lvsipvs.Client; later calls fail with ErrClosed.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("ipvstest: close: %w", ErrClosed)
	}
	f.calls = append(f.calls, Call{Method: "Close"})
	f.closed = true
	return nil
}

// find locates a service by its identity (family, protocol, address,
// port, or family and fwmark), as the kernel does.
func (f *Fake) find(svc ipvs.Service) (*entry, int, error) {
	for i, e := range f.services {
		if lvsipvs.ServiceKey(e.svc.Service) == lvsipvs.ServiceKey(svc) {
			return e, i, nil
		}
	}
	return nil, -1, fmt.Errorf("ipvstest: service %s: %w", lvsipvs.ServiceKey(svc), ErrNoService)
}

func (f *Fake) findDest(svc ipvs.Service, dest ipvs.Destination) (*entry, int, error) {
	e, _, err := f.find(svc)
	if err != nil {
		return nil, -1, err
	}
	i := slices.IndexFunc(e.dests, sameDest(dest))
	if i < 0 {
		return nil, -1, fmt.Errorf("ipvstest: destination %s of %s: %w", lvsipvs.DestinationKey(dest), lvsipvs.ServiceKey(svc), ErrNoDestination)
	}
	return e, i, nil
}

func sameDest(d ipvs.Destination) func(ipvs.DestinationExtended) bool {
	return func(x ipvs.DestinationExtended) bool { return x.Address == d.Address && x.Port == d.Port }
}

// checkService refuses what the kernel (ip_vs_genl_parse_service and
// ip_vs_add_service) refuses.
func checkService(s ipvs.Service) error {
	invalid := func(why string) error {
		return fmt.Errorf("ipvstest: service %s: %s: %w", lvsipvs.ServiceKey(s), why, ErrInvalid)
	}
	v6 := s.Family == ipvs.INET6
	switch {
	case s.Family != ipvs.INET && !v6:
		return invalid(fmt.Sprintf("family %d", s.Family))
	case s.Scheduler == "":
		return invalid("no scheduler")
	case !s.Netmask.IsValid() || s.Netmask.Is6() != v6:
		return invalid("netmask missing or of the other family")
	case s.Flags&ipvs.ServicePersistent == 0 && s.Timeout != 0:
		return invalid("timeout without persistence")
	case s.FWMark != 0:
		return nil
	case s.Protocol != ipvs.TCP && s.Protocol != ipvs.UDP && s.Protocol != ipvs.SCTP:
		return invalid(fmt.Sprintf("protocol %d", s.Protocol))
	case !s.Address.IsValid() || s.Address.Is6() != v6:
		return invalid("address missing or of the other family")
	case s.Port == 0 && s.Flags&ipvs.ServicePersistent == 0:
		return invalid("port 0 without persistence")
	}
	return nil
}

// checkDestination refuses what ip_vs_add_dest and ip_vs_edit_dest refuse.
func checkDestination(svc ipvs.Service, d ipvs.Destination) error {
	invalid := func(why string) error {
		return fmt.Errorf("ipvstest: destination %s of %s: %s: %w", lvsipvs.DestinationKey(d), lvsipvs.ServiceKey(svc), why, ErrInvalid)
	}
	switch {
	case !d.Address.IsValid():
		return invalid("no address")
	case d.Family != ipvs.INET && d.Family != ipvs.INET6 || d.Address.Is6() != (d.Family == ipvs.INET6):
		return invalid("family does not match the address")
	case d.Family != svc.Family && d.FwdMethod != ipvs.Tunnel:
		return invalid("another family than the service, and not tunnelled")
	case d.Weight > 65535:
		return invalid("weight above 65535")
	case d.LowerThreshold > d.UpperThreshold:
		return invalid("lower threshold above upper")
	case d.FwdMethod != ipvs.Tunnel && (d.TunnelType != 0 || d.TunnelPort != 0):
		return invalid("tunnel settings without tunnelling")
	case d.FwdMethod == ipvs.Tunnel && d.TunnelType == ipvs.GUE && d.TunnelPort == 0:
		return invalid("gue tunnel without port")
	}
	return nil
}
