package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The floor modes do the socket work of a row without RPyC, so that a figure can be read against
// what this machine's kernel and loopback allow at all:
//
//	benchdata tcpserver                      echo length-prefixed messages on a free loopback port
//	benchdata tcpconnect -addr A [-n N] [-mintime D] [-server-pid P]
//	                                         connect, two 16-byte exchanges, close (the messages
//	                                         of connect + root + get_service_name + close)
//	benchdata tcpecho -addr A [-size B] [-n N] [-mintime D] [-server-pid P]
//	                                         echo B random bytes on one connection
//
// A message is a u32be length and that many bytes; the server writes each one back.

// floorServe echoes messages on every connection ln accepts until ctx ends.
func floorServe(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Go(func() {
			defer c.Close()
			var buf []byte
			for {
				var err error
				if buf, err = readMsg(c, buf); err != nil {
					return
				}
				if err := writeMsg(c, buf); err != nil {
					return
				}
			}
		})
	}
}

// readMsg reads one message into buf (grown as needed) and returns it.
func readMsg(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return buf, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(r, buf)
	return buf, err
}

// writeMsg writes b as one message, header and body in one write (net.Buffers: writev).
func writeMsg(w io.Writer, b []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	bufs := net.Buffers{hdr[:], b}
	_, err := bufs.WriteTo(w)
	return err
}

// errFloorEcho reports a floor echo that came back different.
var errFloorEcho = errors.New("benchdata: floor echo returned different bytes")

// floorCycle connects to addr, makes two 16-byte exchanges and closes.
func floorCycle(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	msg := []byte("0123456789abcdef")
	buf := make([]byte, 0, 16)
	for range 2 {
		if err := writeMsg(c, msg); err != nil {
			return err
		}
		if buf, err = readMsg(c, buf); err != nil {
			return err
		}
		if !bytes.Equal(buf, msg) {
			return errFloorEcho
		}
	}
	return c.Close()
}

// floorConnectBench times floor cycles like connectBench times RPyC ones.
func floorConnectBench(ctx context.Context, addr string, n int, minTime time.Duration, serverPID int) (result, error) {
	for range 20 {
		if err := floorCycle(ctx, addr); err != nil {
			return result{}, err
		}
	}
	return timed(serverPID, n, minTime, func() error { return floorCycle(ctx, addr) })
}

// floorEchoBench times echoes of size random bytes on one connection, like echoBench.
func floorEchoBench(ctx context.Context, addr string, size, n int, minTime time.Duration, serverPID int) (result, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return result{}, err
	}
	defer c.Close()
	data := payload(size)
	buf := make([]byte, size)
	echo := func() error {
		if err := writeMsg(c, data); err != nil {
			return err
		}
		var err error
		if buf, err = readMsg(c, buf); err != nil {
			return fmt.Errorf("benchdata: floor echo: %w", err)
		}
		if !bytes.Equal(buf, data) { // checked as fully as the RPyC echo is
			return errFloorEcho
		}
		return nil
	}
	if err := echo(); err != nil {
		return result{}, err
	}
	return timed(serverPID, n, minTime, echo)
}
