package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
)

// diagnoseTimeout bounds the second look explainConnect takes at a server that failed to connect.
const diagnoseTimeout = 3 * time.Second

// explainConnect turns a failed connection into an error that says what happened and what to
// do: a refused or unreachable address says so in one line; for a server that accepted the
// connection but did not speak RPyC as expected, it connects once more, sends one PING in the v5
// envelope and looks at what comes back: HTTP, SSH, TLS, or an RPyC server of the other dialect.
func (a *app) explainConnect(ctx context.Context, addr string, tcfg *tls.Config, err error) error {
	if a.ssh.host != "" {
		return err // addr is as the SSH host sees it: there is nothing to look at from here
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("cannot resolve %s: %s", dnsErr.Name, dnsErr.Err)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		if opErr.Timeout() {
			return fmt.Errorf("cannot connect to %s: no answer within %v", addr, a.timeout)
		}
		return fmt.Errorf("cannot connect to %s: %s", addr, innermost(opErr))
	}
	if ctx.Err() != nil {
		return err // interrupted: the caller says so
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		if what := protocolName(rh.RecordHeader[:]); what != "" {
			return fmt.Errorf("%s is not an RPyC server over TLS (it answered %s); check the port", addr, what)
		}
		return fmt.Errorf("%s does not speak TLS: leave out --tls (and --tls-ca/--tls-cert), or check the port", addr)
	}
	dctx, cancel := context.WithTimeout(ctx, diagnoseTimeout)
	defer cancel()
	answer, state := sniff(dctx, addr, tcfg)
	want, _ := compat.ParseDialect(a.dialect)
	switch state {
	case sniffSilent:
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			hint := ""
			if tcfg == nil {
				hint = " (if it uses TLS, add --tls)"
			}
			return fmt.Errorf("%s accepted the connection but did not answer within %v: not an RPyC server?%s", addr, a.timeout, hint)
		}
		return err
	case sniffFailed:
		return err
	case sniffClosed:
		return fmt.Errorf("%s closed the connection without answering: not an RPyC server, or one that wants TLS (--tls)? (%w)", addr, err)
	}
	if what := protocolName(answer); what != "" {
		if what == "TLS" {
			return fmt.Errorf("%s speaks TLS: add --tls", addr)
		}
		return fmt.Errorf("%s is not an RPyC server (it answered %s); check the host and port", addr, what)
	}
	payload, _, perr := channel.ParseFrame(answer, channel.Config{MaxFrameSize: 1 << 20})
	if perr != nil {
		if errors.Is(perr, channel.ErrFrameTooLarge) || !plausibleFrame(answer) {
			return fmt.Errorf("%s is not an RPyC server (it answered %s); check the host and port", addr, quoteBytes(answer, 24))
		}
		return err
	}
	got, ok := compat.Detect(payload)
	switch {
	case !ok:
		return fmt.Errorf("%s is not an RPyC server (it answered %s); check the host and port", addr, quoteBytes(payload, 24))
	case want != compat.Auto && got != want:
		return fmt.Errorf("%s speaks rpyc dialect %s (%s), not %s: use --dialect %s, or leave --dialect out to detect it",
			addr, got, dialectPeers(got), want, got)
	}
	return err
}

// dialectPeers names the Python rpyc versions of a dialect.
func dialectPeers(d compat.Dialect) string {
	if d == compat.V6 {
		return "Python rpyc 6.x"
	}
	return "Python rpyc 4.1-5.3"
}

// What sniff found.
const (
	sniffFailed   = iota // could not connect (again), or write
	sniffSilent          // connected, nothing came before the deadline
	sniffClosed          // connected, the server closed without a byte
	sniffAnswered        // answer holds the first bytes
)

// sniff connects to addr, sends one PING in the v5 envelope and returns the first bytes of the
// answer (up to 512, or what arrives within the deadline).
func sniff(ctx context.Context, addr string, tcfg *tls.Config) (answer []byte, state int) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, sniffFailed
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	conn := c
	if tcfg != nil {
		tc := tls.Client(c, tcfg.Clone())
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, sniffFailed
		}
		conn = tc
	}
	ping, _ := compat.V5.AppendMessage(nil, compat.MsgRequest, 1,
		brine.Tuple{int64(compat.HandlePing), brine.Tuple{int64(compat.LabelValue), brine.Tuple{"rpyc diagnose"}}})
	frame, _ := channel.AppendFrame(nil, ping, channel.Config{})
	if _, err := conn.Write(frame); err != nil {
		return nil, sniffFailed
	}
	buf := make([]byte, 512)
	n := 0
	var rerr error
	for n < len(buf) {
		var m int
		m, rerr = conn.Read(buf[n:])
		n += m
		if rerr != nil {
			break
		}
		if n >= channel.HeaderSize {
			if size := int(buf[0])<<24 | int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3]); n >= channel.HeaderSize+size+1 {
				break
			}
		}
	}
	if n == 0 {
		if ne, ok := rerr.(net.Error); ok && ne.Timeout() {
			return nil, sniffSilent
		}
		return nil, sniffClosed
	}
	return buf[:n], sniffAnswered
}

// protocolName recognises the first bytes of a few protocols people point rpyc at by mistake.
func protocolName(b []byte) string {
	s := string(b[:min(len(b), 16)])
	up := strings.ToUpper(s)
	switch {
	case strings.HasPrefix(s, "HTTP/"), strings.HasPrefix(up, "<!DOCTYPE"), strings.HasPrefix(up, "<HTML"),
		strings.HasPrefix(up, "<!DO"), strings.HasPrefix(up, "<HTM"):
		return "HTTP"
	case strings.HasPrefix(s, "SSH-"):
		return "SSH"
	case len(b) >= 2 && (b[0] == 0x15 || b[0] == 0x16) && b[1] == 0x03:
		return "TLS"
	case strings.HasPrefix(s, "220 ") || strings.HasPrefix(s, "220-"):
		return "an SMTP/FTP greeting"
	case strings.HasPrefix(s, "-ERR") || strings.HasPrefix(s, "+OK"):
		return "Redis/POP3"
	}
	return ""
}

// plausibleFrame reports whether b starts like an RPyC frame: a length that fits what came and
// a flag of 0 or 1.
func plausibleFrame(b []byte) bool {
	if len(b) < channel.HeaderSize {
		return false
	}
	size := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	return size < 1<<26 && b[4] <= 1
}

// quoteBytes shows the first n bytes as text when they are printable, else as hex.
func quoteBytes(b []byte, n int) string {
	b = b[:min(len(b), n)]
	printable := true
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\n' && r != '\r' && r != '\t' {
			printable = false
			break
		}
	}
	if printable && len(bytes.TrimSpace(b)) > 0 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("% x", b)
}

// innermost returns the text of the deepest error in err's chain ("connection refused").
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
