package agent

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/sysctl"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// observe reports what the host really runs, next to what its stored
// objects want.
func (a *Agent) observe(ctx context.Context, objs map[wire.Key]wire.Object) *wire.Observed {
	hc, werr := compose(objs)
	if werr != nil {
		// Stored objects always composed when they were stored; report
		// the daemons without a wanted config.
		hc = &hostConfig{}
	}
	return a.observeComposed(ctx, objs, hc, renderConfigs(hc))
}

// renderedConfigs are the daemons' configs the host's objects render to
// (nil: none).
type renderedConfigs struct{ keepalived, haproxy []byte }

// renderConfigs renders hc's daemon configs; one that does not render is
// nil (the stored objects rendered when they were stored).
func renderConfigs(hc *hostConfig) renderedConfigs {
	var r renderedConfigs
	if hc.keepalived != nil {
		if text, err := render.Keepalived(hc.keepalived); err == nil {
			r.keepalived = []byte(text)
		}
	}
	if hc.haproxy != nil {
		if text, err := render.HAProxy(hc.haproxy); err == nil {
			r.haproxy = []byte(text)
		}
	}
	return r
}

// observeComposed is observe of objs composed as hc, whose daemon configs
// render to want: an apply passes what it composed and rendered already,
// so its response costs no second composition or render.
func (a *Agent) observeComposed(ctx context.Context, objs map[wire.Key]wire.Object, hc *hostConfig, want renderedConfigs) *wire.Observed {
	obs := &wire.Observed{
		Hostname: a.readTrim("/proc/sys/kernel/hostname"),
		Kernel:   a.readTrim("/proc/sys/kernel/osrelease"),
		Machine:  machine(),
		Objects:  sortedObjects(objs),

		AgentVersion: a.Version,
	}
	obs.IPVSAvailable = a.hasIPVS()
	failed := func(section string, err error) {
		if obs.Errors == nil {
			obs.Errors = map[string]string{}
		}
		obs.Errors[section] = err.Error()
	}
	if len(hc.sysctls) > 0 {
		obs.Sysctls = map[string]string{}
		var errs []error
		for _, s := range hc.sysctls {
			v, err := a.Sysctl.Get(s.Key)
			switch {
			case err == nil:
				obs.Sysctls[s.Key] = v
			case !errors.Is(err, sysctl.ErrUnknownKey):
				// A sysctl the kernel lacks (its module not loaded yet) has
				// no value; one that could not be read is unknown.
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			failed(wire.ObserveSysctls, err)
		}
	}
	var err error
	if obs.Addresses, err = a.observeAddresses(hc); err != nil {
		failed(wire.ObserveAddresses, err)
	}
	if obs.Fwmarks, err = a.observeFwmarks(hc); err != nil {
		failed(wire.ObserveFwmarks, err)
	}
	if obs.Routes, obs.Rules, err = a.observeRoutes(hc); err != nil {
		failed(wire.ObserveRoutes, err)
	}
	if obs.IPVSAvailable {
		if obs.IPVS, err = a.observeIPVS(hc); err != nil {
			failed(wire.ObserveIPVS, err)
		}
	}
	obs.Keepalived = a.observeKeepalived(ctx, hc, want.keepalived)
	obs.HAProxy = a.observeHAProxy(ctx, hc, want.haproxy)
	return obs
}

func (a *Agent) observeKeepalived(ctx context.Context, hc *hostConfig, want []byte) *wire.DaemonState {
	d := a.keepalived()
	st := a.daemonState(ctx, d, want)
	if st.Running && hc.keepalived != nil && len(hc.keepalived.Director.Instances) > 0 {
		if pid, err := a.pid(d); err == nil {
			if d := a.vrrpDump(ctx, pid); d != nil {
				st.VRRP = d.states
				if len(d.elections) > 0 {
					st.Elections = d.elections
				}
			}
			st.MissingVIPs = a.observeMissingVIPs(hc, st.VRRP)
		}
	}
	return st
}

func (a *Agent) observeHAProxy(ctx context.Context, hc *hostConfig, want []byte) *wire.DaemonState {
	socket := statsSocket(hc.haproxy)
	st := a.daemonState(ctx, a.haproxy(socket), want)
	if st.Running && hc.haproxy != nil {
		st.Servers = a.haproxyServers(socket)
	}
	st.CertificatesDrifted = a.driftedCerts(hc)
	return st
}

func (a *Agent) readTrim(p string) string {
	b, err := os.ReadFile(a.path(p))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// machine is uname -m of the host: the agent is built for its architecture.
func machine() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return runtime.GOARCH
}
