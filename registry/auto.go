package registry

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gorpyc/rpyc/compat"
)

// ServiceAliases returns the names a service registers under, by Python's rule
// (Service.get_service_aliases): the explicit aliases upper-cased if there are any, otherwise
// the service's class name upper-cased with a trailing "SERVICE" removed. So ("EchoService",
// nil) gives ["ECHO"], ("Calc", []string{"calc", "Calc2"}) gives ["CALC", "CALC2"], and the
// bare "Service" gives [""]. Upper-casing follows Python's str.upper ("ß" becomes "SS"). It is
// [compat.ServiceAliases], the rule every part of gorpyc uses.
func ServiceAliases(name string, aliases []string) []string {
	return compat.ServiceAliases(name, aliases)
}

// AutoRegistration keeps a server registered, as Python servers with auto_register do: it
// registers at once, again every Interval after a success, about every RetryInterval after a
// failure, and unregisters when its context ends.
type AutoRegistration struct {
	// Registrar is the registry client to use; it is required. Python servers default to a
	// broadcasting UDP client (a zero [UDPClient]); set its Interface to the server's listen
	// address so that the registry records that address.
	Registrar Registrar
	// Aliases are the names to register (see [ServiceAliases]).
	Aliases []string
	// Port is the server's TCP port.
	Port int
	// Logger receives an Info line when registered and when unregistered, and Warn lines when
	// registering fails (the first failure, then one in 60); nil logs nothing.
	Logger *slog.Logger
	// Interval is the time between registrations after a success; 0 means 60 s
	// ([DefaultReregisterInterval]). It should stay well below the registry's pruning timeout.
	Interval time.Duration
	// RetryInterval is the time between attempts after a failure; 0 means 1 s.
	RetryInterval time.Duration
	// UnregisterTimeout bounds the final UNREGISTER; 0 means 2 s.
	UnregisterTimeout time.Duration
}

// AutoRegister keeps aliases registered for port with reg until ctx ends, then unregisters and
// returns; see [AutoRegistration] for the schedule (Python's: at once, every 60 s, retrying
// every second after a failure). It returns nil, or the error of the final UNREGISTER.
func AutoRegister(ctx context.Context, reg Registrar, aliases []string, port int, logger *slog.Logger) error {
	a := AutoRegistration{Registrar: reg, Aliases: aliases, Port: port, Logger: logger}
	return a.Run(ctx)
}

// Run registers until ctx ends, then unregisters (with a fresh deadline of UnregisterTimeout,
// since ctx is done) and returns the error of that UNREGISTER, or nil. Each registration
// attempt is bounded by the registrar's timeout. Run may be called again after it returns.
func (a *AutoRegistration) Run(ctx context.Context) error {
	if a.Registrar == nil {
		return errors.New("registry: AutoRegistration.Registrar is nil")
	}
	log := loggerOr(a.Logger)
	interval, retry, unregTimeout := a.Interval, a.RetryInterval, a.UnregisterTimeout
	if interval <= 0 {
		interval = DefaultReregisterInterval
	}
	if retry <= 0 {
		retry = time.Second
	}
	if unregTimeout <= 0 {
		unregTimeout = DefaultTimeout
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	registered := false
	failures := 0
	for {
		select {
		case <-ctx.Done():
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unregTimeout)
			defer cancel()
			err := a.Registrar.Unregister(uctx, a.Port)
			if err != nil {
				log.Warn("registry: unregistering failed", "port", a.Port, "err", err)
			} else if registered {
				log.Info("registry: unregistered", "port", a.Port)
			}
			return err
		case <-timer.C:
		}
		err := a.Registrar.Register(ctx, a.Aliases, a.Port)
		switch {
		case err == nil:
			if !registered {
				log.Info("registry: registered", "aliases", a.Aliases, "port", a.Port)
			} else {
				log.Debug("registry: registration refreshed", "aliases", a.Aliases, "port", a.Port)
			}
			registered, failures = true, 0
			timer.Reset(interval)
		case ctx.Err() != nil:
			// Loop round to unregister; the timer is drained, so only ctx.Done is ready.
		default:
			// Warn on the first failure and then once a minute or so, not every second.
			level := slog.LevelDebug
			if failures%60 == 0 {
				level = slog.LevelWarn
			}
			failures++
			log.Log(ctx, level, "registry: registering failed, will retry", "aliases", a.Aliases,
				"port", a.Port, "err", err, "retry_in", retry, "failures", failures)
			timer.Reset(retry)
		}
	}
}
