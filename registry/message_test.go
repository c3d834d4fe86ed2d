package registry

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
)

// Golden datagrams captured from rpyc 5.3.0 (the same bytes in 6.0.1).
const (
	goldenRegister   = "12 080d52505943 080e085245474953544552 11 11 080c464f4f 080c424152 1605 3138383132" // ('RPYC','REGISTER',(('FOO','BAR'),18812))
	goldenOK         = "080b4f4b"                                                                           // 'OK'
	goldenQuery      = "12 080d52505943 080e055155455259 10 080c666f6f"                                     // ('RPYC','QUERY',('foo',))
	goldenQueryReply = "10 11 080e093132372e302e302e31 16053138383132"                                      // (('127.0.0.1',18812),)
	goldenEmpty      = "02"                                                                                 // ()
	goldenList       = "12 080d52505943 080d4c495354 10 10 00"                                              // ('RPYC','LIST',((None,),))
	goldenListReply  = "12 080c464f4f 080c424152 080c42415a"                                                // ('FOO','BAR','BAZ')
	goldenUnregister = "12 080d52505943 080e0a554e5245474953544552 10 16053132333435"                       // ('RPYC','UNREGISTER',(12345,))
	goldenNone       = "00"                                                                                 // None
)

func TestRegistryGoldenRequests(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
		args brine.Tuple
		want string
	}{
		{"register", CmdRegister, registerArgs([]string{"FOO", "BAR"}, 18812), goldenRegister},
		{"query", CmdQuery, brine.Tuple{"foo"}, goldenQuery},
		{"list", CmdList, listArgs(""), goldenList},
		{"unregister", CmdUnregister, brine.Tuple{int64(12345)}, goldenUnregister},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appendRequest(nil, tt.cmd, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("encoding:\n got %x\nwant %x", got, want)
			}
			req, n, err := parseRequest(got)
			if err != nil || n != len(got) || req.cmd != tt.cmd || !brine.Equal(req.args, tt.args) {
				t.Errorf("parseRequest = %+v, %d, %v", req, n, err)
			}
		})
	}
}

// TestRegistryGoldenReplies feeds the golden requests to the server's handler and compares the
// replies byte for byte.
func TestRegistryGoldenReplies(t *testing.T) {
	log, _ := testLogger(t)
	s := &Server{AllowListing: true, Logger: log}
	s.init()
	step := func(req, want string) {
		t.Helper()
		got, ok := s.handle(nil, unhex(t, req), "127.0.0.1", udpLimits)
		if !ok {
			t.Fatalf("no reply to %s", req)
		}
		if w := unhex(t, want); !bytes.Equal(got, w) {
			t.Fatalf("reply to %s:\n got %x\nwant %x", req, got, w)
		}
	}
	step(goldenRegister, goldenOK)
	step(goldenQuery, goldenQueryReply)
	reg, _ := appendRequest(nil, CmdRegister, registerArgs([]string{"baz"}, 1))
	step(hexOf(reg), goldenOK)
	step(goldenList, goldenListReply)
	q, _ := appendRequest(nil, CmdQuery, brine.Tuple{"nothing"})
	step(hexOf(q), goldenEmpty)
	step(goldenUnregister, goldenOK)
	s.AllowListing = false
	step(goldenList, goldenNone)
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

func TestRegistryParseRequest(t *testing.T) {
	enc := func(v any) []byte {
		b, err := brine.Dump(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name    string
		data    []byte
		wantCmd Command
		wantErr error
	}{
		{"lower-case command", enc(brine.Tuple{"RPYC", "query", brine.Tuple{"x"}}), CmdQuery, nil},
		{"mixed-case command", enc(brine.Tuple{"RPYC", "UnRegister", brine.Tuple{int64(1)}}), CmdUnregister, nil},
		{"trailing bytes ignored", append(enc(brine.Tuple{"RPYC", "LIST", brine.Tuple{}}), 0xff, 0xff), CmdList, nil},
		{"bytes magic", enc(brine.Tuple{[]byte("RPYC"), "QUERY", brine.Tuple{"x"}}), "", errBadMagic},
		{"other magic", enc(brine.Tuple{"rpyc", "QUERY", brine.Tuple{"x"}}), "", errBadMagic},
		{"bytes command", enc(brine.Tuple{"RPYC", []byte("QUERY"), brine.Tuple{"x"}}), "", errUnknownCmd},
		{"unknown command", enc(brine.Tuple{"RPYC", "DELETE", brine.Tuple{"x"}}), "", errUnknownCmd},
		// Python lowers U+0130 to "i\u0307", so "L\u0130ST" is not "list"; Go's ToLower would say it is.
		{"dotted capital I", enc(brine.Tuple{"RPYC", "L\u0130ST", brine.Tuple{}}), "", errUnknownCmd},
		{"args not a tuple", enc(brine.Tuple{"RPYC", "QUERY", "x"}), "", errBadArgs},
		{"2-tuple", enc(brine.Tuple{"RPYC", "QUERY"}), "", errBadShape},
		{"not a tuple", enc("RPYC"), "", errBadShape},
		{"truncated", unhex(t, goldenQuery)[:10], "", brine.ErrTruncated},
		{"empty", nil, "", brine.ErrTruncated},
		{"unknown tag", []byte{0xff}, "", brine.ErrUnknownTag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _, err := parseRequest(tt.data)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || req.cmd != tt.wantCmd {
				t.Fatalf("got %+v, %v; want %s", req, err, tt.wantCmd)
			}
		})
	}
}

func TestRegistryServiceName(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		"echo":        "ECHO",
		"MyService":   "MYSERVICE",
		"straße":      "STRASSE",
		"ﬁle":         "FILE",
		"ıi":          "II",
		"ΐ":           "\u0399\u0308\u0301",
		"héllo wörld": "HÉLLO WÖRLD",
	} {
		if got := compat.ServiceName(in); got != want {
			t.Errorf("compat.ServiceName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRegistryServiceAliases(t *testing.T) {
	tests := []struct {
		name    string
		aliases []string
		want    []string
	}{
		{"EchoService", []string{"echo", "Echo2"}, []string{"ECHO", "ECHO2"}},
		{"CalcService", nil, []string{"CALC"}},
		{"VoidService", nil, []string{"VOID"}},
		{"SlaveService", nil, []string{"SLAVE"}},
		{"ClassicService", nil, []string{"CLASSIC"}},
		{"Service", nil, []string{""}},
		{"myservice", nil, []string{"MY"}}, // upper-cased first, then the suffix removed
		{"Calc", nil, []string{"CALC"}},
		{"ServiceDesk", nil, []string{"SERVICEDESK"}},
		{"Straße", []string{}, []string{"STRASSE"}},
	}
	for _, tt := range tests {
		got := ServiceAliases(tt.name, tt.aliases)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") || len(got) != len(tt.want) {
			t.Errorf("ServiceAliases(%q, %q) = %q, want %q", tt.name, tt.aliases, got, tt.want)
		}
	}
}
