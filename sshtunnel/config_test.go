package sshtunnel

import (
	"os/user"
	"testing"
)

// TestTarget: Config.Host's forms, as OpenSSH's ssh takes them.
func TestTarget(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host, user string
		want       target
		wantErr    bool
	}{
		{host: "buildhost", want: target{u.Username, "buildhost:22"}},
		{host: "me@buildhost", want: target{"me", "buildhost:22"}},
		{host: "me@buildhost:2222", want: target{"me", "buildhost:2222"}},
		{host: "ssh://me@buildhost:2222", want: target{"me", "buildhost:2222"}},
		{host: "buildhost", user: "cfg", want: target{"cfg", "buildhost:22"}},
		{host: "me@buildhost", user: "cfg", want: target{"me", "buildhost:22"}},
		{host: "a@b@buildhost", want: target{"a@b", "buildhost:22"}},
		{host: "me@[::1]:2222", want: target{"me", "[::1]:2222"}},
		{host: "[::1]", want: target{u.Username, "[::1]:22"}},
		{host: "::1", want: target{u.Username, "[::1]:22"}},
		{host: "10.0.0.1", want: target{u.Username, "10.0.0.1:22"}},
		{host: "", wantErr: true},
		{host: "me@", wantErr: true},
		{host: "me@:22", wantErr: true},
	} {
		cfg := Config{Host: c.host, User: c.user}
		got, err := cfg.target()
		if (err != nil) != c.wantErr || (!c.wantErr && got != c.want) {
			t.Errorf("Host %q User %q: %+v, %v; want %+v (error: %v)", c.host, c.user, got, err, c.want, c.wantErr)
		}
	}
}
