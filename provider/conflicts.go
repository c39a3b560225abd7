package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Conflicts across resources (two lvs_virtual_server with one VIP:port on
// one director, two lvs_real_server with one address:port in a service,
// two frontends with one name or one bind, two backends with one name) are
// judged by the agent, which sees every Terraform run's objects: a
// resource's write tells it which keys it creates on the host and which
// resource it comes from (wire.Writer, wire.Object.Owner), and the agent
// refuses a create over a key stored with other content before anything
// on the host changes (agent.refuseConflicts). A refusal fails only the
// resource whose write it was (fleet.RefusedError); its diagnostic names
// both resources and the host (addHostError, conflictAdvice).
//
// Terraform gives a provider no resource addresses: a resource is named
// by its type and id, which is also its import id.

// ownerOf names a resource as stored objects carry it: its type and id.
func ownerOf(resourceType, id string) string { return resourceType + " " + id }

// writeAs sends one resource's write to a host. create says that the
// resource has no object on this host yet (a create, or an update that
// adds the host): every key it puts there is then a create, refused if
// another resource stores it with other content.
func (c *client) writeAs(ctx context.Context, cfg transport.Config, owner string, create bool, put []wire.Object, del, adopt []wire.Key) (*wire.Response, error) {
	w := fleet.Write{Put: put, Delete: del, Adopt: adopt, Owner: owner}
	if create {
		for _, o := range put {
			w.Create = append(w.Create, o.Key)
		}
	}
	return c.fleet.Write(ctx, cfg, w)
}

// conflictAdvice says what to do about a write the agent refused because
// another resource holds what it writes, naming that resource; ok is
// false for another error.
func conflictAdvice(err error) (step, advice string, ok bool) {
	var re *fleet.RefusedError
	if !errors.As(err, &re) {
		return "", "", false
	}
	other := re.Refusal.WithOwner
	if other == "" {
		other = "an object stored on the host without a Terraform resource (imported, or written by an older provider)"
	}
	with := ""
	if re.Refusal.With != nil {
		with = fmt.Sprintf(" (%s)", re.Refusal.With)
	}
	return re.Refusal.Step, fmt.Sprintf("Another resource already holds this on host %s: %s%s. Nothing on the host was changed. "+
		"Two resources cannot own one object: remove or change one of them, or import the existing object "+
		"into this resource instead of creating it.", re.Host, other, with), true
}
