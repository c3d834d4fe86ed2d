package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; otherwise the module
// version or VCS revision recorded by the Go toolchain is used.
var version string

// versionLine is what --version prints: the command, gorpyc's version, the RPyC versions it
// speaks and the Go toolchain, e.g.
//
//	rpyc (gorpyc) v0.0.0-20260101120000-abcdef123456, speaks Python rpyc 4.1-6.0 (dialects v5, v6), go1.26.8 linux/amd64
func versionLine(cmd string) string {
	return fmt.Sprintf("%s (gorpyc) %s, speaks Python rpyc 4.1-6.0 (dialects v5, v6), %s %s/%s",
		cmd, buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		return "devel-" + rev[:min(len(rev), 12)] + modified
	}
	return "devel"
}
