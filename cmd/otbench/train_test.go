package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

func TestRunTrainStep(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-only", "train", "-reps", "1", "-mnist", ""}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var r row
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if r["bench"] != "train_step" || r["model"] != "mlp16-256-512-784" || !(r["ms"].(float64) > 0) {
		t.Errorf("row %v", r)
	}
}
