//go:build !race

package api_test

// raceSlowdown scales the few time bounds the tests check (see race_test.go).
const raceSlowdown = 1
