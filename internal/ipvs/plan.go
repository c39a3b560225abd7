package ipvs

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/cloudflare/ipvs"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Table is the kernel's IPVS table as read by Read: every service, ours
// and foreign, with its destinations and counters.
type Table []TableService

// TableService is one kernel service with its destinations.
type TableService struct {
	Service      ipvs.ServiceExtended
	Destinations []ipvs.DestinationExtended
}

// Read reads the whole table: one Services call and one Destinations call
// per service.
func Read(c Client) (Table, error) {
	// cloudflare/ipvs answers an empty dump (no services, a service
	// without destinations) with os.ErrNotExist: that is an empty list.
	svcs, err := c.Services()
	if errors.Is(err, os.ErrNotExist) {
		svcs, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ipvs: listing services: %w", err)
	}
	t := make(Table, 0, len(svcs))
	for _, s := range svcs {
		dests, err := c.Destinations(s.Service)
		if errors.Is(err, os.ErrNotExist) {
			dests, err = nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ipvs: service %s: listing destinations: %w", ServiceKey(s.Service), err)
		}
		t = append(t, TableService{Service: s, Destinations: dests})
	}
	return t, nil
}

// OpKind is the netlink request an Op makes.
type OpKind int

// The six requests that change the table.
const (
	CreateService OpKind = iota + 1
	UpdateService
	RemoveService
	CreateDestination
	UpdateDestination
	RemoveDestination
)

var opNames = map[OpKind]string{
	CreateService:     "create service",
	UpdateService:     "update service",
	RemoveService:     "remove service",
	CreateDestination: "create destination",
	UpdateDestination: "update destination",
	RemoveDestination: "remove destination",
}

func (k OpKind) String() string { return opNames[k] }

// Op is one netlink request: a service change, or a destination change
// within Service. The Old fields hold what the request replaces, so that
// Apply can undo it.
type Op struct {
	Kind        OpKind
	Service     ipvs.Service
	Destination ipvs.Destination
	// OldService is the service before an UpdateService or RemoveService.
	OldService ipvs.Service
	// OldDestination is the destination before an UpdateDestination or
	// RemoveDestination.
	OldDestination ipvs.Destination
	// OldDestinations are the destinations a RemoveService takes with it.
	OldDestinations []ipvs.Destination
}

// String names the request and its object: "update destination
// 10.0.0.21:80 of tcp/10.0.0.10:80".
func (op Op) String() string {
	if op.Kind >= CreateDestination {
		return op.Kind.String() + " " + DestinationKey(op.Destination) + " of " + ServiceKey(op.Service)
	}
	return op.Kind.String() + " " + ServiceKey(op.Service)
}

// desiredService is a virtual server converted to kernel terms.
type desiredService struct {
	svc   ipvs.Service
	dests []ipvs.Destination
}

// Plan computes the fewest requests that turn the observed table into the
// desired one, without ever flushing:
//
//   - an owned service that is not desired is removed, with one
//     RemoveService (its destinations go with it);
//   - a desired service that is missing is created with its destinations;
//   - a desired service that exists is updated only when its scheduler,
//     flags, persistence timeout or netmask differ, and each destination
//     only when its own settings differ (a weight change is one request);
//   - a service owned by nobody we know (owned returns false) is never
//     touched; when a desired service exists and is not owned, Plan fails
//     with ErrForeign, as adopting it is an explicit import.
//
// owned is asked with ServiceKey names (the model's Key format). Removals
// come first, then the desired services in their order.
func Plan(desired []model.VirtualServer, observed Table, owned func(key string) bool) ([]Op, error) {
	want, order, err := convertDesired(desired)
	if err != nil {
		return nil, err
	}
	have := make(map[string]TableService, len(observed))
	for _, ts := range observed {
		have[ServiceKey(ts.Service.Service)] = ts
	}
	var foreign []error
	for _, key := range order {
		if _, exists := have[key]; exists && !owned(key) {
			foreign = append(foreign, fmt.Errorf("ipvs: virtual server %s: %w", key, ErrForeign))
		}
	}
	if len(foreign) > 0 {
		return nil, errors.Join(foreign...)
	}
	var ops []Op
	for _, key := range sortedKeys(have) {
		if _, keep := want[key]; !keep && owned(key) {
			ops = append(ops, removeOp(have[key]))
		}
	}
	for _, key := range order {
		ts, exists := have[key]
		if !exists {
			ops = append(ops, createOps(want[key])...)
			continue
		}
		ops = append(ops, updateOps(want[key], ts)...)
	}
	return ops, nil
}

// convertDesired converts the virtual servers and refuses duplicates.
func convertDesired(desired []model.VirtualServer) (map[string]desiredService, []string, error) {
	want := make(map[string]desiredService, len(desired))
	order := make([]string, 0, len(desired))
	for i := range desired {
		vs := &desired[i]
		svc, err := ServiceOf(vs)
		if err != nil {
			return nil, nil, err
		}
		key := ServiceKey(svc)
		if _, dup := want[key]; dup {
			return nil, nil, fmt.Errorf("ipvs: virtual server %s is desired twice", key)
		}
		d := desiredService{svc: svc}
		for j := range vs.RealServers {
			d.dests = append(d.dests, DestinationOf(vs, &vs.RealServers[j]))
		}
		want[key] = d
		order = append(order, key)
	}
	return want, order, nil
}

func sortedKeys(m map[string]TableService) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// unhashed drops the flag the kernel adds to every service it holds, so
// that a service read back can be sent again as it was.
func unhashed(s ipvs.Service) ipvs.Service {
	s.Flags &^= ipvs.ServiceHashed
	return s
}

func removeOp(ts TableService) Op {
	op := Op{Kind: RemoveService, Service: ts.Service.Service, OldService: unhashed(ts.Service.Service)}
	for _, d := range ts.Destinations {
		op.OldDestinations = append(op.OldDestinations, d.Destination)
	}
	return op
}

func createOps(d desiredService) []Op {
	ops := []Op{{Kind: CreateService, Service: d.svc}}
	for _, dest := range d.dests {
		ops = append(ops, Op{Kind: CreateDestination, Service: d.svc, Destination: dest})
	}
	return ops
}

// updateOps changes an existing service into the desired one: the service
// itself if needed, then removals, updates and creations of destinations.
func updateOps(d desiredService, ts TableService) []Op {
	var ops []Op
	if !sameService(d.svc, ts.Service.Service) {
		ops = append(ops, Op{Kind: UpdateService, Service: d.svc, OldService: unhashed(ts.Service.Service)})
	}
	wantDest := map[string]bool{}
	for _, dest := range d.dests {
		wantDest[DestinationKey(dest)] = true
	}
	haveDest := map[string]ipvs.Destination{}
	observed := slices.Clone(ts.Destinations)
	slices.SortFunc(observed, func(a, b ipvs.DestinationExtended) int {
		return cmp.Compare(DestinationKey(a.Destination), DestinationKey(b.Destination))
	})
	for _, o := range observed {
		key := DestinationKey(o.Destination)
		haveDest[key] = o.Destination
		if !wantDest[key] {
			ops = append(ops, Op{Kind: RemoveDestination, Service: d.svc, Destination: o.Destination, OldDestination: o.Destination})
		}
	}
	for _, dest := range d.dests {
		o, exists := haveDest[DestinationKey(dest)]
		switch {
		case !exists:
			ops = append(ops, Op{Kind: CreateDestination, Service: d.svc, Destination: dest})
		case !sameDestination(dest, o):
			ops = append(ops, Op{Kind: UpdateDestination, Service: d.svc, Destination: dest, OldDestination: o})
		}
	}
	return ops
}

// sameService compares what UpdateService can change.
func sameService(a, b ipvs.Service) bool {
	return a.Scheduler == b.Scheduler &&
		unhashed(a).Flags == unhashed(b).Flags &&
		a.Timeout == b.Timeout &&
		a.Netmask.Equal(b.Netmask)
}

// sameDestination compares what UpdateDestination can change.
func sameDestination(a, b ipvs.Destination) bool {
	return a.FwdMethod == b.FwdMethod &&
		a.Weight == b.Weight &&
		a.UpperThreshold == b.UpperThreshold &&
		a.LowerThreshold == b.LowerThreshold &&
		a.TunnelType == b.TunnelType &&
		a.TunnelPort == b.TunnelPort &&
		a.TunnelFlags == b.TunnelFlags
}

// Apply runs the requests in order. It returns how many it made (the
// agent reports them as netlink ops). When one fails, Apply undoes the
// requests that succeeded, newest first, so the table is left as it was,
// and returns an error naming the failed request (and any undo that
// failed too).
func Apply(c Client, ops []Op) (int, error) {
	for i, op := range ops {
		if err := do(c, op); err != nil {
			err = fmt.Errorf("ipvs: %s: %w", op, err)
			return i, errors.Join(err, undo(c, ops[:i]))
		}
	}
	return len(ops), nil
}

// undo reverts done requests, newest first, and keeps going past failures.
func undo(c Client, done []Op) error {
	var errs []error
	for i := len(done) - 1; i >= 0; i-- {
		for _, inv := range done[i].inverse() {
			if err := do(c, inv); err != nil {
				errs = append(errs, fmt.Errorf("ipvs: undoing %s: %s: %w", done[i], inv, err))
			}
		}
	}
	return errors.Join(errs...)
}

// inverse returns the requests that revert op.
func (op Op) inverse() []Op {
	switch op.Kind {
	case CreateService:
		return []Op{{Kind: RemoveService, Service: op.Service}}
	case UpdateService:
		return []Op{{Kind: UpdateService, Service: op.OldService}}
	case RemoveService:
		ops := []Op{{Kind: CreateService, Service: op.OldService}}
		for _, d := range op.OldDestinations {
			ops = append(ops, Op{Kind: CreateDestination, Service: op.OldService, Destination: d})
		}
		return ops
	case CreateDestination:
		return []Op{{Kind: RemoveDestination, Service: op.Service, Destination: op.Destination}}
	case UpdateDestination:
		return []Op{{Kind: UpdateDestination, Service: op.Service, Destination: op.OldDestination}}
	case RemoveDestination:
		return []Op{{Kind: CreateDestination, Service: op.Service, Destination: op.OldDestination}}
	}
	return nil
}

func do(c Client, op Op) error {
	switch op.Kind {
	case CreateService:
		return c.CreateService(op.Service)
	case UpdateService:
		return c.UpdateService(op.Service)
	case RemoveService:
		return c.RemoveService(op.Service)
	case CreateDestination:
		return c.CreateDestination(op.Service, op.Destination)
	case UpdateDestination:
		return c.UpdateDestination(op.Service, op.Destination)
	case RemoveDestination:
		return c.RemoveDestination(op.Service, op.Destination)
	}
	return fmt.Errorf("unknown operation kind %d", op.Kind)
}
