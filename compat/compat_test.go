package compat_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Payloads captured from real rpyc sessions.
func TestGoldenEnvelopes(t *testing.T) {
	getroot := brine.Tuple{int64(compat.HandleGetRoot), brine.Tuple{int64(compat.LabelValue), brine.Tuple{}}}
	valueErr := brine.Tuple{brine.Tuple{"builtins", "ValueError"}, brine.Tuple{"bad"},
		brine.Tuple{brine.Tuple{"_remote_version", "<version denied>"}}, ""}
	tests := []struct {
		name string
		d    compat.Dialect
		msg  compat.MsgType
		seq  int64
		body any
		hex  string
	}{
		{"v5 GETROOT", compat.V5, compat.MsgRequest, 0, getroot, "12 51 50 11 53 11 51 02"},
		{"v6 GETROOT", compat.V6, compat.MsgRequest, 0, getroot, "01 11 50 11 53 11 51 02"},
		{"v5 StopIteration", compat.V5, compat.MsgException, 14, int64(1), "12 53 5e 51"},
		{"v5 CLOSE seq 10", compat.V5, compat.MsgRequest, 10,
			brine.Tuple{int64(compat.HandleClose), brine.Tuple{int64(compat.LabelValue), brine.Tuple{}}}, "12 51 5a 11 52 11 51 02"},
		{"v6 ValueError seq 7", compat.V6, compat.MsgException, 7, valueErr,
			"03 11 57 13 11 080e086275696c74696e73 080e0a56616c75654572726f72 10 080c626164" +
				"10 11 080e0f5f72656d6f74655f76657273696f6e 080e103c76657273696f6e2064656e6965643e 0801"},
		{"v5 reply seq 3", compat.V5, compat.MsgReply, 3, brine.Tuple{int64(1), int64(3)}, "12 52 53 11 51 53"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			got, err := tc.d.AppendMessage(nil, tc.msg, tc.seq, tc.body)
			if err != nil || hex.EncodeToString(got) != hex.EncodeToString(want) {
				t.Fatalf("AppendMessage = %x, %v; want %x", got, err, want)
			}
			if d, ok := compat.Detect(want); !ok || d != tc.d {
				t.Fatalf("Detect = %v, %v; want %v", d, ok, tc.d)
			}
			msg, seq, body, err := tc.d.ParseMessage(want)
			if err != nil || msg != tc.msg || seq != tc.seq || !brine.Equal(body, tc.body) {
				t.Fatalf("ParseMessage = %v %d %v %v", msg, seq, body, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		d   compat.Dialect
		hex string
	}{
		{compat.V5, "11 51 50"},          // a 2-tuple
		{compat.V5, "12 54 50 00"},       // message type 4
		{compat.V5, "12 51 08 0a 61 00"}, // seq is a str
		{compat.V6, ""},                  // empty
		{compat.V6, "04 11 50 00"},       // message type 4
		{compat.V6, "01 12 50 00 00"},    // a 3-tuple after the byte
	} {
		_, _, _, err := tc.d.ParseMessage(unhex(t, tc.hex))
		if !errors.Is(err, compat.ErrBadMessage) {
			t.Errorf("%v ParseMessage(%s) = %v, want ErrBadMessage", tc.d, tc.hex, err)
		}
	}
	// A v5 payload read as v6 and the reverse are refused, as the Python peers refuse them.
	v5 := unhex(t, "12 51 50 11 53 11 51 02")
	if _, _, _, err := compat.V6.ParseMessage(v5); err == nil {
		t.Error("v6 accepted a v5 message")
	}
	if _, _, _, err := compat.V5.ParseMessage(unhex(t, "01 11 50 11 53 11 51 02")); err == nil {
		t.Error("v5 accepted a v6 message")
	}
	if _, ok := compat.Detect([]byte{0x07, 0x11}); ok {
		t.Error("Detect recognised garbage")
	}
}

func TestDialectNamesAndFeatures(t *testing.T) {
	for s, want := range map[string]compat.Dialect{"v5": compat.V5, "6": compat.V6, "auto": compat.Auto, "": compat.Auto} {
		if d, err := compat.ParseDialect(s); err != nil || d != want {
			t.Errorf("ParseDialect(%q) = %v, %v", s, d, err)
		}
	}
	if _, err := compat.ParseDialect("v7"); err == nil {
		t.Error("ParseDialect(v7) succeeded")
	}
	f5, f6 := compat.For(compat.V5), compat.For(compat.V6)
	if f5.SyncClose || !f6.SyncClose {
		t.Error("only 6.x closes synchronously")
	}
	if len(f5.BuiltinNetrefNames) != 33 || len(f6.BuiltinNetrefNames) != 34 {
		t.Errorf("builtin netref names: %d (5.x), %d (6.x); want 33, 34", len(f5.BuiltinNetrefNames), len(f6.BuiltinNetrefNames))
	}
	if !f6.IsBuiltinNetrefName("builtins.module") || f5.IsBuiltinNetrefName("builtins.module") {
		t.Error("builtins.module is a builtin netref name from 6.0.1 only")
	}
}
