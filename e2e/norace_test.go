//go:build !race

package e2e

// raceEnabled is true when the tests run with -race; the server binary is
// then built with -race too, and a data race makes it exit non-zero.
const raceEnabled = false
