package agent

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// StepConflicts is the step name of a write refused because it conflicts
// with what another resource stores on the host (wire.Refusal).
const StepConflicts = "check conflicts"

// refuseConflicts splits a request's writers (wire.Request.Writers) into
// those it accepts and those it refuses, before anything is journaled or
// touched. objs is the stored set (with an interrupted apply's change
// rolled forward); it is not modified. The writers are taken in order, as
// if each were an apply of its own: a writer is checked against the store
// as the accepted writers before it leave it, so that of two writers that
// create one key with different content the first wins and the second is
// refused, as it would be in two applies. A refused writer's puts and
// deletes are all dropped (its objects belong together: a service with its
// inline real servers); the other writers' are returned, in order.
//
// A writer is refused when
//   - a key it creates (Writer.Create) is stored with other content: two
//     resources would own one object, and the later would silently replace
//     the earlier (the same content is accepted: an apply interrupted after
//     it stored the object, re-run, converges);
//   - a frontend it puts binds an address:port that a frontend of another
//     key binds (a bind on every address overlaps every bind of its port);
//   - a backend it puts (a frontend's own or a backend of its own) has the
//     name of a backend another object holds.
func refuseConflicts(objs map[wire.Key]wire.Object, req *wire.Request) (put []wire.Object, del []wire.Key, refused []wire.Refusal) {
	puts, dels, writers := req.WriterRanges()
	cur := maps.Clone(objs)
	if cur == nil {
		cur = map[wire.Key]wire.Object{}
	}
	for i, w := range writers {
		if r := conflictOf(cur, puts[i], dels[i], w); r != nil {
			r.Writer = i
			refused = append(refused, *r)
			continue
		}
		for _, k := range dels[i] {
			delete(cur, k)
		}
		for _, o := range puts[i] {
			// A write that names no owner (a drain's weight, a director's
			// adoption) keeps the object's.
			if prev, ok := cur[o.Key]; ok && o.Owner == "" {
				o.Owner = prev.Owner
			}
			cur[o.Key] = o
			put = append(put, o)
		}
		del = append(del, dels[i]...)
	}
	return put, del, refused
}

// conflictOf is the first conflict of one writer's write with cur, or nil.
func conflictOf(cur map[wire.Key]wire.Object, puts []wire.Object, dels []wire.Key, w wire.Writer) *wire.Refusal {
	own := map[wire.Key]bool{}
	for _, k := range dels {
		own[k] = true
	}
	for _, o := range puts {
		own[o.Key] = true
	}
	for _, k := range w.Create {
		i := slices.IndexFunc(puts, func(o wire.Object) bool { return o.Key == k })
		prev, stored := cur[k]
		if i < 0 || !stored || slices.Contains(dels, k) || sameContent(prev, puts[i]) {
			continue
		}
		return refusal(&puts[i], &prev, fmt.Sprintf("%s is already stored on this host by %s with other content (%s); %s cannot create it: "+
			"two resources cannot own one object. Remove one of the two resources (or give it another identity), "+
			"or, to manage the stored one, import it instead of creating it",
			k, ownerName(prev.Owner), differences(prev, puts[i]), ownerName(puts[i].Owner)))
	}
	// The frontends and backends of every other object of the host. A
	// bind or backend name the object's stored version already had is
	// not checked again: what is stored was accepted (an overlap older
	// than this check stays until one of its objects changes it).
	var others []wire.Object
	for _, o := range puts {
		if o.Kind != wire.KindHAProxyFrontend && o.Kind != wire.KindHAProxyBackend {
			continue
		}
		if others == nil {
			others = haproxyObjects(cur, own)
		}
		prev, stored := cur[o.Key]
		for _, name := range backendNames(&o) {
			if stored && slices.Contains(backendNames(&prev), name) {
				continue
			}
			for j := range others {
				if slices.Contains(backendNames(&others[j]), name) {
					return refusal(&o, &others[j], fmt.Sprintf("%s puts backend %q, which %s (%s) already holds on this host; "+
						"haproxy needs every backend name once. Rename one of the two backends",
						ownerName(o.Owner), name, others[j].Key, ownerName(others[j].Owner)))
				}
			}
		}
		if o.Kind != wire.KindHAProxyFrontend {
			continue
		}
		for _, b := range o.HAProxyFrontend.Frontend.Binds {
			if stored && prev.HAProxyFrontend != nil && slices.Contains(prev.HAProxyFrontend.Frontend.Binds, b) {
				continue
			}
			for j := range others {
				if others[j].Kind != wire.KindHAProxyFrontend {
					continue
				}
				for _, ob := range others[j].HAProxyFrontend.Frontend.Binds {
					if bindsOverlap(b, ob) {
						return refusal(&o, &others[j], fmt.Sprintf("%s binds %s, which frontend %s (%s) already binds on this host as %s; "+
							"two frontends cannot listen on one address and port. Change one of the two binds",
							ownerName(o.Owner), bindString(b), others[j].ID, ownerName(others[j].Owner), bindString(ob)))
					}
				}
			}
		}
	}
	return nil
}

func refusal(o, with *wire.Object, msg string) *wire.Refusal {
	k := with.Key
	return &wire.Refusal{
		Error:     wire.Error{Code: wire.ExitConflict, Step: StepConflicts, Object: o.Key.String(), Message: msg},
		With:      &k,
		WithOwner: with.Owner,
	}
}

// haproxyObjects are the frontends and backends of cur outside own, in key order.
func haproxyObjects(cur map[wire.Key]wire.Object, own map[wire.Key]bool) []wire.Object {
	out := []wire.Object{}
	for k, o := range cur {
		if !own[k] && (k.Kind == wire.KindHAProxyFrontend || k.Kind == wire.KindHAProxyBackend) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}

// backendNames are the names of the backends an object puts in haproxy.cfg.
func backendNames(o *wire.Object) []string {
	switch {
	case o.HAProxyBackend != nil:
		return []string{o.HAProxyBackend.Name}
	case o.HAProxyFrontend != nil && o.HAProxyFrontend.OwnsBackend():
		return []string{o.HAProxyFrontend.Backend.Name}
	}
	return nil
}

// bindsOverlap reports whether two binds claim one port of one address; a
// bind on every address (none, 0.0.0.0 or ::) claims its port on all.
func bindsOverlap(a, b model.HAProxyBind) bool {
	if a.Port != b.Port {
		return false
	}
	wild := func(x netip.Addr) bool { return !x.IsValid() || x.IsUnspecified() }
	return wild(a.Address) || wild(b.Address) || a.Address.Unmap() == b.Address.Unmap()
}

func bindString(b model.HAProxyBind) string {
	if !b.Address.IsValid() || b.Address.IsUnspecified() {
		return fmt.Sprintf("*:%d", b.Port)
	}
	return netip.AddrPortFrom(b.Address, uint16(b.Port)).String()
}

// ownerName is how a refusal names the resource that wrote an object.
func ownerName(owner string) string {
	if owner == "" {
		return "another resource (or an import)"
	}
	return owner
}

// sameContent reports whether two documents are equal but for their owner.
func sameContent(a, b wire.Object) bool {
	a.Owner, b.Owner = "", ""
	return sameObject(a, b)
}

// differences names the settings in which two objects of one key differ,
// as dotted paths (virtual_server.scheduler,
// haproxy_frontend.backend.balance), at most a few.
func differences(a, b wire.Object) string {
	var diff []string
	diffPaths("", contentMap(a), contentMap(b), 3, &diff)
	if len(diff) == 0 {
		return "it differs"
	}
	const most = 5
	if len(diff) > most {
		diff = append(diff[:most], fmt.Sprintf("and %d more", len(diff)-most))
	}
	return "it differs in " + strings.Join(diff, ", ")
}

// diffPaths appends the paths under prefix where a and b differ, going
// into objects up to depth levels.
func diffPaths(prefix string, a, b map[string]any, depth int, out *[]string) {
	for _, k := range unionKeys(a, b) {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if sameJSON(a[k], b[k]) {
			continue
		}
		sa, okA := a[k].(map[string]any)
		sb, okB := b[k].(map[string]any)
		if okA && okB && depth > 1 {
			diffPaths(p, sa, sb, depth-1, out)
			continue
		}
		*out = append(*out, p)
	}
}

func contentMap(o wire.Object) map[string]any {
	o.Owner = ""
	data, _ := json.Marshal(o)
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	delete(m, "kind")
	delete(m, "id")
	return m
}

func unionKeys(a, b map[string]any) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
