package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Adopting a director built by hand: `terraform import lvs_director.NAME
// HOST` on a host whose keepalived.conf lvs-agent did not write reads the
// director from that file (the agent's import verb); the next apply puts
// it with wire.Request.Adopt, which lets the agent replace the file, and
// puts the virtual servers of the file's virtual_server blocks too, so that
// keepalived, reloaded (never restarted) with the rendered file, keeps its
// VIPs and IPVS services.

// keepalivedConfPath is the file a director adoption takes over.
const keepalivedConfPath = "/etc/keepalived/keepalived.conf"

// handBuiltObject is the object of key that a host's hand-built file
// holds (foreign says whether the file is hand-built), with the import's
// warnings, when the host stores no such object: a resource imported
// before the apply that takes the file over. nil when the host stores it,
// the file is ours or absent, or it does not hold it. One agent import,
// only in that case.
func (c *client) handBuiltObject(ctx context.Context, cfg transport.Config, view *cluster.View, key wire.Key, foreign func(*cluster.View) bool) (*wire.Object, []string, error) {
	if view.Stored(key) || !foreign(view) {
		return nil, nil, nil
	}
	resp, err := c.importHost(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	for i := range resp.Imported {
		if o := &resp.Imported[i]; o.Key == key {
			tflog.Info(ctx, "read from a hand-built configuration file; the next apply takes the file over",
				map[string]any{"host": cfg.ID(), "object": key.String()})
			return o, resp.Warnings, nil
		}
	}
	return nil, nil, nil
}

// handBuiltDirector is the director a host's hand-built keepalived.conf
// holds, when the host stores none (an import of a director set up by
// hand); nil when the file is ours or absent, or holds no director. What
// the import leaves out is said in a warning.
func (c *client) handBuiltDirector(ctx context.Context, cfg transport.Config, view *cluster.View, diags *diag.Diagnostics) *model.Director {
	o, warnings, err := c.handBuiltObject(ctx, cfg, view, directorKey, (*cluster.View).ForeignKeepalived)
	if err != nil {
		addHostError(diags, "Import", "Director", cfg.ID(), err)
		return nil
	}
	if o == nil || o.Director == nil {
		return nil
	}
	if warns := directorImportWarnings(warnings); len(warns) > 0 {
		diags.AddWarning("Hand-Built keepalived.conf Imported With Changes",
			fmt.Sprintf("Host: %s\nObject: %s\n\nThe apply that takes %s over renders it from the imported director "+
				"and virtual servers. What they cannot hold was left out:\n- %s",
				cfg.ID(), directorKey, keepalivedConfPath, strings.Join(warns, "\n- ")))
	}
	return o.Director
}

// directorImportWarnings are the warnings of a host import that concern
// the director: those about the host's haproxy.cfg belong to lvs_haproxy.
func directorImportWarnings(all []string) []string {
	var out []string
	for _, w := range all {
		if !strings.Contains(w, "haproxy.cfg") {
			out = append(out, w)
		}
	}
	return out
}

// adoptKeepalived lists what the apply that takes a hand-built
// keepalived.conf over puts besides the director: the virtual servers of
// the file's virtual_server blocks and their real servers, which the host
// does not store yet, and the keys to adopt (the director and those
// virtual servers). Without them the rendered file would lack the
// services and keepalived would remove them from IPVS at its reload.
func (c *client) adoptKeepalived(ctx context.Context, cfg transport.Config, view *cluster.View) ([]wire.Object, []wire.Key, error) {
	resp, err := c.importHost(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	put, adopt := view.KeepalivedAdoption(resp.Imported)
	return put, adopt, nil
}

// handBuiltService is the virtual server of key in a director's hand-built
// keepalived.conf, when the director stores none (an import before the
// director's adoption of the file); nil when the service is stored, the
// file is ours or absent, or it does not declare the service. The IPVS
// table says as much for a plain service; a group service needs the file,
// which alone says which addresses are its members.
func (c *client) handBuiltService(ctx context.Context, cfg transport.Config, view *cluster.View, key string) (*wire.Object, error) {
	o, _, err := c.handBuiltObject(ctx, cfg, view, wire.VirtualServerKey(key), (*cluster.View).ForeignKeepalived)
	if err != nil || o == nil || o.VirtualServer == nil {
		return nil, err
	}
	return o, nil
}

// adoptionView is view, and when the host does not store key and its
// keepalived.conf is not ours, with the objects that hand-built file
// declares (cluster.View.WithHandBuilt): an import of a service or real
// server built by hand then reads its health checks and settings from the
// file, not only what the kernel shows.
func (c *client) adoptionView(ctx context.Context, cfg transport.Config, view *cluster.View, key wire.Key) (*cluster.View, error) {
	if view.Stored(key) || !view.ForeignKeepalived() {
		return view, nil
	}
	resp, err := c.importHost(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return view.WithHandBuilt(resp.Imported), nil
}

// importHost runs the agent's import on a host, which reads a hand-built
// keepalived.conf, haproxy.cfg and IPVS table into objects, changing
// nothing. It is one agent call outside the fleet: only an import, or the
// apply that adopts what was imported, needs it.
func (c *client) importHost(ctx context.Context, cfg transport.Config) (*wire.Response, error) {
	host, err := c.pool.Host(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: import: connecting: %w", cfg.ID(), err)
	}
	resp, err := c.agent.Call(ctx, host, &wire.Request{Verb: wire.VerbImport})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// adoptionWait bounds how long an object imported from a hand-built file
// waits for the resource that takes the file over (lvs_haproxy,
// lvs_director) to do so.
const adoptionWait = 2 * time.Minute

// errNotAdopted is a frontend imported from a hand-built haproxy.cfg whose
// host's lvs_haproxy did not take the file over.
var errNotAdopted = errors.New("haproxy.cfg on this host was written by hand and is still not taken over: the host's " +
	"lvs_haproxy resource takes it over (with every frontend it has) in its first apply after an import; import it " +
	"too (terraform import lvs_haproxy.NAME HOST) and apply again")

// errKeepalivedNotAdopted is a virtual server imported on a director whose
// hand-built keepalived.conf its lvs_director did not take over.
var errKeepalivedNotAdopted = errors.New("keepalived.conf on this director was written by hand and is still not taken " +
	"over: the host's lvs_director resource takes it over (with every virtual_server it has) in its first apply after " +
	"an import; import it too (terraform import lvs_director.NAME HOST) and apply again")

// awaitAdoption makes a put of an object imported from a hand-built file
// wait for the resource that takes the file over, which Terraform updates
// at the same time: one resource adopts the file, so the object's own
// version is put after the imported copy, never before it. Nothing to wait
// for when the host stores the object or the file is the agent's.
func (c *client) awaitAdoption(ctx context.Context, cfg transport.Config, key wire.Key, what string, foreign func(*cluster.View) bool, notAdopted error) error {
	view, err := c.view(ctx, cfg)
	if err != nil {
		return err
	}
	if view.Stored(key) || !foreign(view) {
		return nil
	}
	tflog.Info(ctx, "waiting for the hand-built "+what+" to be taken over", map[string]any{"host": cfg.ID(), "object": key.String()})
	deadline := time.Now().Add(adoptionWait)
	for foreign(view) {
		if time.Now().After(deadline) {
			return notAdopted
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		if view, err = c.freshView(ctx, cfg); err != nil {
			return err
		}
	}
	return nil
}

// awaitHAProxyAdoption waits for lvs_haproxy to take a hand-built
// haproxy.cfg over (see awaitAdoption).
func (c *client) awaitHAProxyAdoption(ctx context.Context, cfg transport.Config, key wire.Key) error {
	return c.awaitAdoption(ctx, cfg, key, "haproxy.cfg", (*cluster.View).ForeignHAProxy, errNotAdopted)
}

// awaitKeepalivedAdoption waits for lvs_director to take a hand-built
// keepalived.conf over (see awaitAdoption): a virtual server imported from
// its virtual_server block is put after the director's adoption, which
// stores it.
func (c *client) awaitKeepalivedAdoption(ctx context.Context, cfg transport.Config, key wire.Key) error {
	return c.awaitAdoption(ctx, cfg, key, "keepalived.conf", (*cluster.View).ForeignKeepalived, errKeepalivedNotAdopted)
}
