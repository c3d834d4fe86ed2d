package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"

	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/registry"
)

func init() { commands = append(commands, servicesCmd) }

// servicesCmd lists what a registry holds (rpyc.list_services, then discover for each name).
var servicesCmd = &command{
	name:    "services",
	args:    "[NAME...]",
	summary: "list the services a registry knows, with their endpoints",
	details: `
Asks an RPyC registry (gorpyc's rpyc-registry or Python's rpyc_registry) for its service names
(LIST, which the registry must allow: -l/--listing) and for the endpoints of each (QUERY). With
NAMEs, only those are queried, and LIST is not needed. The default registry is UDP broadcast to
255.255.255.255:18811, as Python's clients use; --registry names one (HOST[:PORT]) and --tcp
talks TCP to it. Each exchange waits 2 s for an answer, as Python's registry clients do
(--timeout changes it). Exit status 3 when no registry answers, 1 when listing is disabled or a
NAME is unknown.`,
	flags: func(fs *flag.FlagSet, a *app) {
		fs.StringVar(&a.registryAddr, "registry", "", "registry `address` HOST[:PORT] (default: UDP broadcast 255.255.255.255:18811)")
		fs.BoolVar(&a.registryTCP, "tcp", false, "talk TCP to the registry (needs --registry)")
		fs.StringVar(&a.filterHost, "filter-host", "", "list only services registered from this `IP`")
	},
	minArgs: 0, maxArgs: -1,
	run: func(ctx context.Context, a *app, names []string) error {
		// Each registry exchange waits 2 s, as Python's registry clients do, unless --timeout
		// says otherwise (the 30 s default of the other commands would be far too long for a
		// registry that is not there).
		wait := registry.DefaultTimeout
		if a.timeoutSet {
			wait = a.timeout
		}
		var reg registry.Registrar
		switch {
		case a.registryTCP && a.registryAddr == "":
			return usagef("--tcp needs --registry HOST[:PORT]")
		case a.registryTCP:
			reg = &registry.TCPClient{Addr: a.registryAddr, Timeout: wait}
		default:
			addr := a.registryAddr
			if addr == "" {
				addr = "255.255.255.255"
			}
			reg = &registry.UDPClient{Addr: addr, Timeout: wait}
		}
		bounded := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, wait) }
		if len(names) == 0 {
			lctx, cancel := bounded()
			listed, err := reg.List(lctx, a.filterHost)
			cancel()
			if err != nil {
				return registryError(err)
			}
			names = listed
		}
		type entry struct {
			Name      string   `json:"name"`
			Endpoints []string `json:"endpoints"`
		}
		var out []entry
		var missing []string
		for _, name := range names {
			dctx, cancel := bounded()
			eps, err := reg.Discover(dctx, name)
			cancel()
			if errors.Is(err, registry.ErrServiceNotFound) {
				missing = append(missing, name)
				out = append(out, entry{Name: compat.ServiceName(name), Endpoints: []string{}})
				continue
			}
			if err != nil {
				return registryError(err)
			}
			e := entry{Name: compat.ServiceName(name), Endpoints: []string{}}
			for _, ep := range eps {
				e.Endpoints = append(e.Endpoints, net.JoinHostPort(ep.IP, fmt.Sprint(ep.Port)))
			}
			out = append(out, e)
		}
		if a.json {
			a.printJSON(map[string]any{"services": out})
		} else {
			if len(out) == 0 {
				fmt.Fprintln(a.stdout, "(no services registered)")
			}
			for _, e := range out {
				eps := strings.Join(e.Endpoints, " ")
				if eps == "" {
					eps = "(no live endpoint)"
				}
				fmt.Fprintf(a.stdout, "%-20s %s\n", e.Name, eps)
			}
		}
		if len(missing) > 0 {
			return &localError{fmt.Errorf("no live endpoint for %s", strings.Join(missing, ", "))}
		}
		return nil
	},
}

// registryError sorts registry failures into the command's exit statuses.
func registryError(err error) error {
	if errors.Is(err, registry.ErrNoRegistry) {
		return &connError{err}
	}
	return &localError{err}
}
