//go:build race

package api_test

// raceSlowdown scales the few time bounds the tests check: the race
// detector makes code 2-20 times slower (decoding a 4 MB body, most of all).
const raceSlowdown = 10
