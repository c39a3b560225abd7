package provider

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// splitDirector reads one entry of `directors`: HOST, HOST:PORT,
// USER@HOST or USER@HOST:PORT (an lvs_director's id), IPv6 addresses
// with a port in brackets. A bare IPv6 address is a host.
func splitDirector(s string) (user, host string, port int, err error) {
	bad := func(why string) (string, string, int, error) {
		return "", "", 0, fmt.Errorf("director %q %s; write HOST, HOST:PORT, USER@HOST or USER@HOST:PORT (an lvs_director's id)", s, why)
	}
	rest := s
	if u, h, ok := strings.Cut(s, "@"); ok {
		if u == "" || strings.ContainsAny(u, ":/ ") {
			return bad("has an empty or malformed user")
		}
		user, rest = u, h
	}
	if rest == "" {
		return bad("names no host")
	}
	host = rest
	if h, p, e := net.SplitHostPort(rest); e == nil {
		n, e := strconv.Atoi(p)
		if e != nil || n < 1 || n > 65535 || h == "" {
			return bad("has a port that is not a number from 1 to 65535")
		}
		host, port = h, n
	} else if _, e := netip.ParseAddr(rest); e != nil && strings.ContainsAny(rest, ":/@ []") {
		return bad("is not a host name or address")
	}
	// The transport's rules: no blanks, newlines or leading '-'.
	if err := transport.ValidateHost(host); err != nil {
		return bad("is not a host name or address (" + err.Error() + ")")
	}
	if user != "" {
		if err := transport.ValidateUser(user); err != nil {
			return bad("has a malformed user (" + err.Error() + ")")
		}
	}
	return user, host, port, nil
}

// directorsOf resolves a `directors` set, with the resource's connection
// overrides, into the directors' names (sorted) and SSH settings.
func (c *client) directorsOf(ctx context.Context, set types.Set, conn *sshModel, diags *diag.Diagnostics) ([]string, []transport.Config) {
	if c == nil {
		diags.AddError("Provider Not Configured", "The lvs provider was not configured before the resource was used. This is a bug in the provider; please report it.")
		return nil, nil
	}
	dirs, ok := knownStrings(set)
	if !ok {
		diags.AddAttributeError(path.Root("directors"), summaryProviderConfig, unknownDetail)
		return nil, nil
	}
	if c.defaultsErr != nil {
		diags.Append(c.defaultsErr...)
		return nil, nil
	}
	cfgs := make([]transport.Config, 0, len(dirs))
	for _, d := range dirs {
		user, host, port, err := splitDirector(d)
		if err != nil {
			addDirectorError(diags, d, err)
			continue
		}
		cfg := c.defaults
		cfg.KnownHostsFiles = append([]string(nil), c.defaults.KnownHostsFiles...)
		cfg.Host = host
		if conn != nil {
			diags.Append(conn.overlay(ctx, &cfg, path.Root(connectionBlockName))...)
		}
		if user != "" {
			cfg.User = user
		}
		if port != 0 {
			cfg.Port = port
		}
		cfgs = append(cfgs, cfg)
	}
	return dirs, cfgs
}

// knownStrings are the elements of a known set, sorted; ok is false when
// the set or an element is unknown.
func knownStrings(set types.Set) ([]string, bool) {
	if set.IsUnknown() || set.IsNull() {
		return nil, false
	}
	var out []string
	for _, e := range set.Elements() {
		s, ok := e.(types.String)
		if !ok || s.IsUnknown() {
			return nil, false
		}
		out = append(out, s.ValueString())
	}
	slices.Sort(out)
	return out, true
}

// hostError is a failure on one host.
type hostError struct {
	host string
	err  error
}

// eachHost runs f for every host at once and returns the failures, in
// the hosts' order.
func eachHost(cfgs []transport.Config, f func(transport.Config) error) []hostError {
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(cfg)
		}()
	}
	wg.Wait()
	var out []hostError
	for i, err := range errs {
		if err != nil {
			out = append(out, hostError{host: cfgs[i].ID(), err: err})
		}
	}
	return out
}

// The keep* helpers map an observed model value back to a Terraform
// value: the prior value when both mean the same (an unset attribute
// means its default), else the observed one (null for the zero value,
// which the model reads as unset).

func mustSet(ctx context.Context, list []string) types.Set {
	s, _ := types.SetValueFrom(ctx, types.StringType, list)
	return s
}

// hostDelete is one object to delete on one host.
type hostDelete struct {
	cfg transport.Config
	key wire.Key
}

func eachDelete(ctx context.Context, c *client, dels []hostDelete) []hostError {
	cfgs := make([]transport.Config, len(dels))
	for i, d := range dels {
		cfgs[i] = d.cfg
	}
	return eachHost(cfgs, func(cfg transport.Config) error {
		for _, d := range dels {
			if d.cfg.ID() == cfg.ID() {
				if _, err := c.fleet.Apply(ctx, cfg, nil, []wire.Key{d.key}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
