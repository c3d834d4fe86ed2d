//go:build race

package brine_test

// raceEnabled: the race detector changes allocation sizes (no tiny allocator).
const raceEnabled = true
