// Package rpycotel instruments RPyC connections with OpenTelemetry: it is a
// [protocol.Observer] that records metrics and trace spans for every request a connection sends
// or serves.
//
// Set it as the Config.Observer of a server, a client, or both:
//
//	obs, err := rpycotel.NewObserver() // the global MeterProvider and TracerProvider
//	if err != nil {
//		return err
//	}
//	cfg := protocol.DefaultConfig()
//	cfg.Observer = obs
//	srv := &server.Server{Service: svc, Config: &cfg}
//	// or, for a client: rpyc.Connect(ctx, addr, rpyc.WithConfig(cfg))
//
// A connection without an Observer pays nothing: the protocol package only calls the hooks
// when Config.Observer is set.
//
// # Metrics
//
// All instruments come from the meter "github.com/gorpyc/rpyc/rpycotel":
//
//	rpyc.requests              counter    requests, by rpyc.handler and rpyc.direction
//	rpyc.request.duration      histogram  seconds per request, by rpyc.handler and rpyc.direction
//	rpyc.request.errors        counter    failed requests, by rpyc.handler, rpyc.direction and
//	                                      error.type (the Python exception class, such as
//	                                      "ValueError" or "socket.timeout")
//	rpyc.messages              counter    messages, by network.io.direction (transmit, receive)
//	rpyc.message.bytes         counter    payload bytes, by network.io.direction
//	rpyc.connections           counter    connections opened
//	rpyc.connections.active    up-down    connections open now
//	rpyc.objects.exported      gauge      objects this process exports to its peers now (the
//	                                      proxies its peers hold), summed over open connections
//	rpyc.proxies.held          gauge      proxies this process holds of its peers' objects now,
//	                                      summed over open connections
//
// rpyc.handler is rpyc's constant name (HANDLE_CALLATTR, HANDLE_GETATTR, ...); rpyc.direction
// is "incoming" for a request of the peer that this side serves (on a client connection: a
// callback) and "outgoing" for one this side sends.
//
// # Traces
//
// Each request is a span named after its handler ("rpyc HANDLE_CALLATTR"): a server span for an
// incoming request, a client span for an outgoing one, with the attributes rpc.system="rpyc",
// rpyc.handler and rpyc.connection.id. A failed request has an error status, and error.type is
// its Python exception class.
//
// The context a handler's user code receives carries the span of its request, so that a request
// it makes with that context (a callback to the peer, or a call on to another server) is a
// child span. That propagation is in-process only: RPyC's wire format has no field for a trace
// context, so a span does not continue in the peer's process (a Python peer, or a Go peer with
// its own tracer, starts its own traces).
package rpycotel

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/gorpyc/rpyc/rpycotel"

// Attribute keys used by the Observer.
const (
	HandlerKey      = attribute.Key("rpyc.handler")
	DirectionKey    = attribute.Key("rpyc.direction")
	ConnectionIDKey = attribute.Key("rpyc.connection.id")
	ErrorTypeKey    = attribute.Key("error.type")
	IODirectionKey  = attribute.Key("network.io.direction")
	RPCSystemKey    = attribute.Key("rpc.system")
)

// Option configures NewObserver.
type Option func(*options)

type options struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider sets the MeterProvider; the default is otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.mp = mp } }

// WithTracerProvider sets the TracerProvider; the default is otel.GetTracerProvider().
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tp = tp } }

// Observer is a [protocol.Observer] recording OpenTelemetry metrics and spans. One Observer may
// serve any number of connections (a whole server, clients too); it is safe for concurrent use.
type Observer struct {
	tracer trace.Tracer

	requests metric.Int64Counter
	duration metric.Float64Histogram
	errors   metric.Int64Counter
	messages metric.Int64Counter
	bytes    metric.Int64Counter
	opened   metric.Int64Counter
	active   metric.Int64UpDownCounter

	mu    sync.Mutex
	conns map[*protocol.Conn]struct{}
}

var _ protocol.Observer = (*Observer)(nil)

// numHandlers bounds the handler numbers with precomputed attributes (rpyc's are 1 to 20).
const numHandlers = 32

// Precomputed per handler and direction (0 outgoing, 1 incoming), so that recording allocates
// nothing for attributes.
var (
	spanNames  [numHandlers]string
	reqAdd     [numHandlers][2][]metric.AddOption
	reqRecord  [numHandlers][2][]metric.RecordOption
	reqAttrs   [numHandlers][2]metric.MeasurementOption
	spanAttrs  [numHandlers]attribute.KeyValue
	ioTransmit = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(IODirectionKey.String("transmit")))}
	ioReceive  = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(IODirectionKey.String("receive")))}
	directions = [2]string{"outgoing", "incoming"}
	spanKinds  = [2][]trace.SpanStartOption{{trace.WithSpanKind(trace.SpanKindClient)}, {trace.WithSpanKind(trace.SpanKindServer)}}
	rpcSystem  = RPCSystemKey.String("rpyc")
)

func init() {
	for h := range numHandlers {
		name := compat.Handler(h).String()
		spanNames[h] = "rpyc " + name
		spanAttrs[h] = HandlerKey.String(name)
		for d := range 2 {
			opt := metric.WithAttributeSet(attribute.NewSet(HandlerKey.String(name), DirectionKey.String(directions[d])))
			reqAttrs[h][d] = opt
			reqAdd[h][d] = []metric.AddOption{opt}
			reqRecord[h][d] = []metric.RecordOption{opt}
		}
	}
}

// NewObserver returns an Observer recording through the given (or the global) providers.
func NewObserver(opts ...Option) (*Observer, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.mp == nil {
		o.mp = otel.GetMeterProvider()
	}
	if o.tp == nil {
		o.tp = otel.GetTracerProvider()
	}
	m := o.mp.Meter(ScopeName)
	ob := &Observer{tracer: o.tp.Tracer(ScopeName), conns: make(map[*protocol.Conn]struct{})}
	var err error
	check := func(e error) {
		if err == nil {
			err = e
		}
	}
	ob.requests, err = m.Int64Counter("rpyc.requests", metric.WithUnit("{request}"),
		metric.WithDescription("RPyC requests, by handler and direction"))
	var e error
	ob.duration, e = m.Float64Histogram("rpyc.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of RPyC requests, by handler and direction"),
		metric.WithExplicitBucketBoundaries(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
			0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	check(e)
	ob.errors, e = m.Int64Counter("rpyc.request.errors", metric.WithUnit("{request}"),
		metric.WithDescription("Failed RPyC requests, by handler, direction and Python exception class"))
	check(e)
	ob.messages, e = m.Int64Counter("rpyc.messages", metric.WithUnit("{message}"),
		metric.WithDescription("RPyC messages sent (transmit) and received (receive)"))
	check(e)
	ob.bytes, e = m.Int64Counter("rpyc.message.bytes", metric.WithUnit("By"),
		metric.WithDescription("Payload bytes of RPyC messages sent (transmit) and received (receive)"))
	check(e)
	ob.opened, e = m.Int64Counter("rpyc.connections", metric.WithUnit("{connection}"),
		metric.WithDescription("RPyC connections opened"))
	check(e)
	ob.active, e = m.Int64UpDownCounter("rpyc.connections.active", metric.WithUnit("{connection}"),
		metric.WithDescription("RPyC connections open now"))
	check(e)
	_, e = m.Int64ObservableGauge("rpyc.objects.exported", metric.WithUnit("{object}"),
		metric.WithDescription("Objects exported to peers (proxies the peers hold), over open connections"),
		metric.WithInt64Callback(ob.observeExported))
	check(e)
	_, e = m.Int64ObservableGauge("rpyc.proxies.held", metric.WithUnit("{object}"),
		metric.WithDescription("Proxies held of the peers' objects, over open connections"),
		metric.WithInt64Callback(ob.observeHeld))
	check(e)
	if err != nil {
		return nil, err
	}
	return ob, nil
}

func (o *Observer) observeExported(_ context.Context, r metric.Int64Observer) error {
	r.Observe(o.sumConns((*protocol.Conn).LocalObjects))
	return nil
}

func (o *Observer) observeHeld(_ context.Context, r metric.Int64Observer) error {
	r.Observe(o.sumConns((*protocol.Conn).RemoteObjects))
	return nil
}

// sumConns adds count over the open connections.
func (o *Observer) sumConns(count func(*protocol.Conn) int) int64 {
	o.mu.Lock()
	conns := make([]*protocol.Conn, 0, len(o.conns))
	for c := range o.conns {
		conns = append(conns, c)
	}
	o.mu.Unlock()
	n := 0
	for _, c := range conns {
		n += count(c)
	}
	return int64(n)
}

// Opened implements [protocol.Observer].
func (o *Observer) Opened(c *protocol.Conn) {
	o.mu.Lock()
	o.conns[c] = struct{}{}
	o.mu.Unlock()
	ctx := context.Background()
	o.opened.Add(ctx, 1)
	o.active.Add(ctx, 1)
}

// Closed implements [protocol.Observer].
func (o *Observer) Closed(c *protocol.Conn, _ error) {
	o.mu.Lock()
	delete(o.conns, c)
	o.mu.Unlock()
	o.active.Add(context.Background(), -1)
}

// Transferred implements [protocol.Observer].
func (o *Observer) Transferred(_ *protocol.Conn, n int, out bool) {
	attrs := ioReceive
	if out {
		attrs = ioTransmit
	}
	ctx := context.Background()
	o.messages.Add(ctx, 1, attrs...)
	o.bytes.Add(ctx, int64(n), attrs...)
}

// Request implements [protocol.Observer]: it starts the request's span (returned in the context)
// and returns the function that ends it and records the request's metrics.
func (o *Observer) Request(ctx context.Context, c *protocol.Conn, h compat.Handler, incoming bool) (context.Context, func(error)) {
	start := time.Now()
	d := 0
	if incoming {
		d = 1
	}
	hi := int(h)
	if hi >= numHandlers {
		hi = 0 // HANDLE_UNKNOWN_0: protocol refuses unknown handlers before serving them
	}
	ctx, span := o.tracer.Start(ctx, spanNames[hi], spanKinds[d]...)
	if span.IsRecording() { // attributes built only for a span that keeps them
		span.SetAttributes(rpcSystem, spanAttrs[hi], ConnectionIDKey.String(c.ID()))
	}
	return ctx, func(err error) {
		o.requests.Add(ctx, 1, reqAdd[hi][d]...)
		o.duration.Record(ctx, time.Since(start).Seconds(), reqRecord[hi][d]...)
		if err != nil {
			class := protocol.ErrorClass(err).Error()
			o.errors.Add(ctx, 1, reqAttrs[hi][d], metric.WithAttributes(ErrorTypeKey.String(class)))
			if span.IsRecording() {
				span.SetAttributes(ErrorTypeKey.String(class))
				span.SetStatus(codes.Error, class)
			}
		}
		span.End()
	}
}
