package ot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// loadFixture reads testdata/<name>.json (the ".json" may be given or not) into a
// generic map; see /work/shared/fixtures/README.md for the fields of each kind.
func loadFixture(t testing.TB, name string) map[string]any {
	t.Helper()
	if !strings.HasSuffix(name, ".json") {
		name += ".json"
	}
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var fx map[string]any
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return fx
}

// fixtureField returns fx[key], failing the test when it is missing.
func fixtureField(t testing.TB, fx map[string]any, key string) any {
	t.Helper()
	v, ok := fx[key]
	if !ok {
		t.Fatalf("fixture has no field %q", key)
	}
	return v
}

// fixtureFloat returns the number fx[key].
func fixtureFloat(t testing.TB, fx map[string]any, key string) float64 {
	t.Helper()
	v, ok := fixtureField(t, fx, key).(float64)
	if !ok {
		t.Fatalf("fixture field %q is %T, not a number", key, fx[key])
	}
	return v
}

// fixtureFloats returns the flat list of numbers fx[key].
func fixtureFloats(t testing.TB, fx map[string]any, key string) []float64 {
	t.Helper()
	return toFloats(t, key, fixtureField(t, fx, key))
}

// fixtureDense returns fx[key] as a matrix: a list of rows, or a flat list read as
// one column (points on the line).
func fixtureDense(t testing.TB, fx map[string]any, key string) *mat.Dense {
	t.Helper()
	list, ok := fixtureField(t, fx, key).([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("fixture field %q is not a non-empty list", key)
	}
	if _, flat := list[0].(float64); flat {
		v := toFloats(t, key, list)
		return mat.NewDense(len(v), 1, v)
	}
	first := toFloats(t, key, list[0])
	M := mat.NewDense(len(list), len(first), nil)
	for i, r := range list {
		row := toFloats(t, key, r)
		if len(row) != len(first) {
			t.Fatalf("fixture field %q: row %d has %d entries, row 0 has %d", key, i, len(row), len(first))
		}
		M.SetRow(i, row)
	}
	return M
}

func toFloats(t testing.TB, key string, v any) []float64 {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("fixture field %q: %T is not a list", key, v)
	}
	out := make([]float64, len(list))
	for i, x := range list {
		f, ok := x.(float64)
		if !ok {
			t.Fatalf("fixture field %q: entry %d is %T, not a number", key, i, x)
		}
		out[i] = f
	}
	return out
}
