package strict

import (
	"errors"
	"reflect"
	"testing"
)

type optimizer struct {
	Kind string  `toml:"kind"`
	LR   float64 `toml:"lr"`
}

type variant struct {
	Name string   `toml:"name"`
	Set  []string `toml:"set"`
}

type doc struct {
	Steps     int        `toml:"steps"`
	BatchSize int        `toml:"batch_size"`
	Seed      uint64     `toml:"seed"`
	Shuffle   bool       `toml:"shuffle"`
	Digits    []int      `toml:"digits"`
	Flags     []bool     `toml:"flags"`
	Optimizer optimizer  `toml:"optimizer"`
	Critic    *optimizer `toml:"critic"`
	Variants  []variant  `toml:"variant"`
	Hidden    int        `toml:"-"`
}

func TestDecodeMessages(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		// unknown keys: the closest known key, or the same key in another table
		{"steps = 1\nstepz = 10", "line 2: unknown key stepz (did you mean steps?)"},
		{"bacth_size = 3", "line 1: unknown key bacth_size (did you mean batch_size?)"},
		{"[optimizer]\nkidn = \"sgd\"", "line 2: unknown key optimizer.kidn (did you mean optimizer.kind?)"},
		{"lr = 0.1", "line 1: unknown key lr (did you mean critic.lr?)"}, // the shortest of critic.lr, optimizer.lr
		{"colour = 1", "line 1: unknown key colour"},
		{"hidden = 3", "line 1: unknown key hidden"}, // toml:"-"
		{"[[variant]]\nname = \"a\"\nsett = [\"x\"]", "line 3: unknown key variant.sett (did you mean variant.set?)"},
		{"stepz = 1\nseeed = 2", "line 1: unknown key stepz (did you mean steps?); line 2: unknown key seeed (did you mean seed?)"},
		// values of the wrong type: the key, what it wants, what it got
		{"steps = \"abc\"", `line 1: steps must be an integer, got "abc"`},
		{"steps = 1.5", "line 1: steps must be an integer, got 1.5"},
		{"seed = -1", "line 1: seed must be a non-negative integer, got -1"},
		{"shuffle = 1", "line 1: shuffle must be true or false, got 1"},
		{"digits = 3", "line 1: digits must be a list of integers, got 3"},
		{"digits = [1, \"a\"]", `line 1: digits must be a list of integers, got [1, "a"]`},
		{"flags = [\"yes\"]", `line 1: flags must be a list of true or false values, got ["yes"]`},
		{"[optimizer]\nlr = \"fast\"", `line 2: optimizer.lr must be a number, got "fast"`},
		{"[optimizer]\nkind = 3", "line 2: optimizer.kind must be a string, got 3"},
		{"optimizer = 3", "line 1: optimizer must be a table, got 3"},
		{"[steps]\na = 1", "line 1: steps must be an integer, got a table"},
		{"critic = inf", "line 1: critic must be a table, got inf"},
		{"[[variant]]\nname = \"a\"\n[[variant]]\nname = 7", "line 4: variant.name must be a string, got 7"},
		// a syntax error keeps the parser's words, with line and column
		{"steps = \n", "line 1, column 9: unexpected character"},
	} {
		var d doc
		err := Decode([]byte(tc.src), &d)
		var es Errors
		if !errors.As(err, &es) {
			t.Errorf("%q: error %v (%T), want Errors", tc.src, err, err)
			continue
		}
		if got := err.Error(); len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

// TOML keys match field names without regard to case, as go-toml decodes them.
func TestDecodeCaseAndSuccess(t *testing.T) {
	var d doc
	if err := Decode([]byte("Steps = 3\n[Optimizer]\nLR = 0.5\n[[variant]]\nname = \"a\""), &d); err != nil {
		t.Fatal(err)
	}
	if d.Steps != 3 || d.Optimizer.LR != 0.5 || len(d.Variants) != 1 {
		t.Errorf("decoded %+v", d)
	}
	var es Errors
	if err := Decode([]byte("STEPS = \"x\""), &d); !errors.As(err, &es) || es[0].Msg != `STEPS must be an integer, got "x"` {
		t.Errorf("upper-case key: %v", err)
	}
}

func TestFields(t *testing.T) {
	f := Fields(reflect.TypeOf(&doc{}))
	for _, k := range []string{"steps", "optimizer", "optimizer.lr", "critic.kind", "variant", "variant.set"} {
		if _, ok := f[k]; !ok {
			t.Errorf("no key %s", k)
		}
	}
	if _, ok := f["hidden"]; ok || len(f) != 15 {
		t.Errorf("%d keys: %v", len(f), f)
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"steps", "steps", 0}, {"stepz", "steps", 1}, {"widht", "width", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"ε", "e", 1}} {
		if got := distance(tc.a, tc.b); got != tc.d {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
