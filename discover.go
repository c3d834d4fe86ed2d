package rpyc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/gorpyc/rpyc/registry"
)

// ErrAllServicesDown is returned by [ConnectByService] when the registry knew endpoints for the
// service but none of them accepted a connection (Python's DiscoveryError "All services are
// down"). The error also holds each endpoint's own error.
var ErrAllServicesDown = errors.New("rpyc: all services are down")

// DiscoverOption configures [Discover], [ConnectByService] and [ListServices].
type DiscoverOption func(*discoverOptions)

type discoverOptions struct {
	registrar registry.Registrar
	host      string
	timeout   time.Duration
	connect   []Option
}

// WithRegistrar sets the registry client to ask. The default, like Python's, is a
// [registry.UDPClient] broadcasting to 255.255.255.255:18811.
func WithRegistrar(r registry.Registrar) DiscoverOption {
	return func(o *discoverOptions) { o.registrar = r }
}

// WithDiscoveryHost limits discovery to one host, like the host argument of Python's discover
// and connect_by_service: only endpoints whose IP is one of host's IPv4 addresses are kept
// (host may be a name or an address). For [ListServices] it is the registry's filter_host
// instead, sent as given: the registry compares it with the registered IPs exactly.
func WithDiscoveryHost(host string) DiscoverOption {
	return func(o *discoverOptions) { o.host = host }
}

// WithDiscoveryTimeout bounds the registry query. Without it the registrar's own timeout
// applies when ctx has no deadline (2 s for the default registrar, Python's timeout=2). It does
// not bound the connection attempts of [ConnectByService]; ctx does.
func WithDiscoveryTimeout(d time.Duration) DiscoverOption {
	return func(o *discoverOptions) { o.timeout = d }
}

// WithConnectOptions passes options to [Connect] for each connection attempt of
// [ConnectByService] (a service to expose, a dialect, TLS, ...).
func WithConnectOptions(opts ...Option) DiscoverOption {
	return func(o *discoverOptions) { o.connect = append(o.connect, opts...) }
}

func buildDiscoverOptions(opts []DiscoverOption) discoverOptions {
	var o discoverOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.registrar == nil {
		// Quiet, as the rest of the library: registry clients log to slog.Default() otherwise.
		o.registrar = &registry.UDPClient{Addr: registry.DefaultBroadcastAddr, Timeout: registry.DefaultTimeout,
			Logger: slog.New(slog.DiscardHandler)}
	}
	return o
}

// query returns ctx bounded by the discovery timeout, if one was set.
func (o *discoverOptions) query(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.timeout > 0 {
		return context.WithTimeout(ctx, o.timeout)
	}
	return context.WithCancel(ctx)
}

// Discover asks the registry for the endpoints of the service name (matched
// case-insensitively), like Python's rpyc.discover. It fails with an error wrapping
// [registry.ErrServiceNotFound] when there are none (on the chosen host, with
// [WithDiscoveryHost]), or [registry.ErrNoRegistry] when no registry answered.
func Discover(ctx context.Context, name string, opts ...DiscoverOption) ([]registry.Endpoint, error) {
	o := buildDiscoverOptions(opts)
	return o.discover(ctx, name)
}

func (o *discoverOptions) discover(ctx context.Context, name string) ([]registry.Endpoint, error) {
	qctx, cancel := o.query(ctx)
	eps, err := o.registrar.Discover(qctx, name)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("rpyc: discover %q: %w", name, err)
	}
	if o.host == "" {
		return eps, nil
	}
	ips, err := hostIPv4s(ctx, o.host)
	if err != nil {
		return nil, fmt.Errorf("rpyc: discover %q on %s: %w", name, o.host, err)
	}
	eps = slices.DeleteFunc(eps, func(e registry.Endpoint) bool {
		ip, err := netip.ParseAddr(e.IP)
		return err != nil || !slices.Contains(ips, ip.Unmap())
	})
	if len(eps) == 0 {
		return nil, fmt.Errorf("rpyc: discover %q: %w on %s", name, registry.ErrServiceNotFound, o.host)
	}
	return eps, nil
}

// hostIPv4s resolves host to its IPv4 addresses, as Python's gethostbyname_ex does.
func hostIPv4s(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return nil, err
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, nil
}

// ConnectByService discovers the service name (see [Discover]) and connects to its endpoints in
// the order the registry gave them (oldest registration first) until one accepts, like Python's
// rpyc.connect_by_service. Options given with [WithConnectOptions] apply to each attempt. When
// every endpoint fails it returns an error wrapping [ErrAllServicesDown] and each endpoint's
// error; when ctx ends it stops trying.
func ConnectByService(ctx context.Context, name string, opts ...DiscoverOption) (*Conn, error) {
	o := buildDiscoverOptions(opts)
	eps, err := o.discover(ctx, name)
	if err != nil {
		return nil, err
	}
	errs := []error{ErrAllServicesDown}
	for _, ep := range eps {
		c, err := Connect(ctx, ep.String(), o.connect...)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("rpyc: connect by service %q: %w", name, err)
		}
		errs = append(errs, fmt.Errorf("%s: %w", ep, err))
	}
	return nil, fmt.Errorf("rpyc: connect by service %q (%d endpoints): %w", name, len(eps), errors.Join(errs...))
}

// ListServices asks the registry for the names of the registered services, like Python's
// rpyc.list_services; with [WithDiscoveryHost], only those with an endpoint on that IP. It fails
// with an error wrapping [registry.ErrListingDisabled] when the registry does not allow listing
// (Python's ForbiddenError), or [registry.ErrNoRegistry] when no registry answered.
func ListServices(ctx context.Context, opts ...DiscoverOption) ([]string, error) {
	o := buildDiscoverOptions(opts)
	qctx, cancel := o.query(ctx)
	defer cancel()
	names, err := o.registrar.List(qctx, o.host)
	if err != nil {
		return nil, fmt.Errorf("rpyc: list services: %w", err)
	}
	return names, nil
}
