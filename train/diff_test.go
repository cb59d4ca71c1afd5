package train

import (
	"reflect"
	"testing"

	"github.com/sinkgen/sinkgen/losses"
)

// DiffConfigs names each differing key once, sorted, with both values; a key one
// config lacks (a [loss.schedule] table set in one only) reads "(unset)".
func TestDiffConfigs(t *testing.T) {
	a, b := DefaultConfig(), DefaultConfig()
	if d, err := DiffConfigs(a, b); err != nil || len(d) != 0 {
		t.Fatalf("equal configs: %v, %v", d, err)
	}
	a.Steps, b.Steps = 10, 20
	a.Loss.Schedule = &losses.Schedule{Kind: "geometric", Start: 2, End: 1, Steps: 5}
	d, err := DiffConfigs(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []ConfigDiff{
		{"loss.schedule.boundaries", "[]", "(unset)"},
		{"loss.schedule.end", "1", "(unset)"},
		{"loss.schedule.kind", "geometric", "(unset)"},
		{"loss.schedule.start", "2", "(unset)"},
		{"loss.schedule.steps", "5", "(unset)"},
		{"loss.schedule.values", "[]", "(unset)"},
		{"steps", "10", "20"},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("diff %v,\nwant %v", d, want)
	}
	if got, _ := diffConfigs(b, a, func(k string) bool { return k != "steps" }); !reflect.DeepEqual(got, []string{"steps: 20 vs 10"}) {
		t.Errorf("diffConfigs: %q", got)
	}
}
