package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/gorpyc/rpyc/registry"
	"github.com/gorpyc/rpyc/registry/etcdstore"
)

// etcdPasswordEnv names the environment variable holding the etcd password of --etcd-user
// (a password on the command line would show in ps).
const etcdPasswordEnv = "RPYC_REGISTRY_ETCD_PASSWORD"

// etcdStartTimeout bounds connecting to etcd and reading the registrations at start.
const etcdStartTimeout = 15 * time.Second

// etcdEndpoints parses --backend etcd://HOST:PORT[,HOST:PORT...] into client URLs: https when
// TLS is configured, http otherwise.
func etcdEndpoints(backend string, useTLS bool) ([]string, error) {
	rest, ok := strings.CutPrefix(backend, "etcd://")
	if !ok {
		return nil, usageError("argument of --backend expected to be memory or etcd://HOST:PORT[,HOST:PORT...], not %q", backend)
	}
	scheme := "http://"
	if useTLS {
		scheme = "https://"
	}
	var eps []string
	for _, h := range strings.Split(rest, ",") {
		h = strings.TrimSpace(h)
		if h == "" || strings.ContainsAny(h, "/ ") {
			return nil, usageError("argument of --backend: bad etcd endpoint %q (want HOST:PORT)", h)
		}
		eps = append(eps, scheme+h)
	}
	return eps, nil
}

// etcdTLS builds the client TLS configuration of --etcd-cacert, --etcd-cert and --etcd-key,
// or nil when none is given.
func etcdTLS(cfg config) (*tls.Config, error) {
	if cfg.etcdCACert == "" && cfg.etcdCert == "" && cfg.etcdKey == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.etcdCACert != "" {
		pem, err := os.ReadFile(cfg.etcdCACert)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--etcd-cacert: no PEM certificate in %s", cfg.etcdCACert)
		}
		tc.RootCAs = pool
	}
	if (cfg.etcdCert == "") != (cfg.etcdKey == "") {
		return nil, errors.New("--etcd-cert and --etcd-key go together")
	}
	if cfg.etcdCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.etcdCert, cfg.etcdKey)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cert/--etcd-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// openEtcd connects to the etcd cluster of cfg.backend and opens the registrations under
// cfg.prefix. closeFn closes the store, then the client.
func openEtcd(ctx context.Context, cfg config, timeout time.Duration, log *slog.Logger) (st registry.Store, closeFn func(), err error) {
	tc, err := etcdTLS(cfg)
	if err != nil {
		return nil, nil, err
	}
	eps, err := etcdEndpoints(cfg.backend, tc != nil)
	if err != nil {
		return nil, nil, err
	}
	ccfg := clientv3.Config{
		Endpoints:            eps,
		TLS:                  tc,
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		Logger:               zap.NewNop(), // the store logs what matters through slog
	}
	if cfg.etcdUser != "" {
		ccfg.Username = cfg.etcdUser
		ccfg.Password = os.Getenv(etcdPasswordEnv)
	}
	ctx, cancel := context.WithTimeout(ctx, etcdStartTimeout)
	defer cancel()
	cl, err := clientv3.New(ccfg)
	if err != nil {
		return nil, nil, fmt.Errorf("etcd %s: %w", strings.Join(eps, ","), err)
	}
	store, err := etcdstore.New(ctx, cl, etcdstore.Config{
		Prefix:              cfg.prefix,
		PruneTimeout:        timeout,
		MaxRegistrations:    cfg.maxRegistrations,
		MaxEndpointsPerName: cfg.maxPerName,
		Logger:              log,
	})
	if err != nil {
		_ = cl.Close()
		return nil, nil, err
	}
	log.Info("rpyc-registry: registrations in etcd", "endpoints", strings.Join(eps, ","), "prefix", cfg.prefix,
		"tls", tc != nil, "user", cfg.etcdUser)
	return store, func() {
		_ = store.Close()
		_ = cl.Close()
	}, nil
}
