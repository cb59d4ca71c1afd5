// Package strict decodes a TOML document into a Go struct strictly, with errors a
// person can act on: an unknown key is named with its line and the closest known
// key ("did you mean steps?"), and a value of the wrong type says what the key wants
// and what it got ("steps must be an integer, got "abc"").
package strict

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// KeyError is one problem in a document, at Line (1-based; 0: unknown) and, for
// syntax errors, Col.
type KeyError struct {
	Line, Col int
	Key       string // dotted; "" for a syntax error
	Msg       string // names the key
}

func (e *KeyError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Errors is every KeyError of a document.
type Errors []*KeyError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Decode decodes src into v, a pointer to a struct, refusing keys that v has no
// field for. Its errors are Errors.
func Decode(src []byte, v any) error {
	dec := toml.NewDecoder(bytes.NewReader(src))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	fields := Fields(reflect.TypeOf(v))
	var missing *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &missing):
		var es Errors
		// one suggestion per distinct key: a file repeating an unknown key in every
		// element of an array of tables must not cost a search of fields each time
		suggest := map[string]string{}
		for i := range missing.Errors {
			e := &missing.Errors[i]
			row, _ := e.Position()
			key := strings.Join(e.Key(), ".")
			s, ok := suggest[key]
			if !ok {
				s = Suggest(key, fields)
				suggest[key] = s
			}
			es = append(es, &KeyError{Line: row, Key: key, Msg: "unknown key " + key + s})
		}
		return es
	case errors.As(err, &de):
		row, col := de.Position()
		key := strings.Join(de.Key(), ".")
		if t, ok := fields[strings.ToLower(key)]; ok && key != "" {
			if val, ok := lookup(src, de.Key(), t); ok {
				return Errors{{Line: row, Key: key, Msg: fmt.Sprintf("%s must be %s, got %s", key, words(t), format(val))}}
			}
		}
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if key != "" {
			msg = "key " + key + ": " + msg
		}
		return Errors{{Line: row, Col: col, Key: key, Msg: msg}}
	}
	return err
}

// Fields maps every dotted key of the struct type t (or pointer to it), lower case as
// TOML matches them, to its Go type: tables, their keys, and the keys of the tables
// in arrays of tables.
func Fields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			key := prefix + strings.ToLower(name)
			out[key] = f.Type
			walk(key+".", f.Type)
		}
	}
	walk("", t)
	return out
}

// Suggest returns " (did you mean K?)" for the known key K closest to key: at most a
// few typing mistakes away, else with the same last part in another table (lr →
// optimizer.lr); "" if none is close.
func Suggest(key string, fields map[string]reflect.Type) string {
	low := strings.ToLower(key)
	best, bestD := "", 0
	for k := range fields {
		d := distance(low, k)
		if best == "" || d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	if best != "" && bestD <= max(1, min(3, len(low)/4)) {
		return " (did you mean " + best + "?)"
	}
	last := low[strings.LastIndex(low, ".")+1:]
	best = ""
	for k := range fields {
		if strings.HasSuffix(k, "."+last) && (best == "" || len(k) < len(best) || len(k) == len(best) && k < best) {
			best = k
		}
	}
	if best != "" {
		return " (did you mean " + best + "?)"
	}
	return ""
}

// distance is the optimal string alignment distance: insertions, deletions,
// substitutions and transpositions of neighbours each count one.
func distance(a, b string) int {
	s, t := []rune(a), []rune(b)
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

// words says what a value of type t is, as a person would.
func words(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return words(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		// "an integer" → "integers", "true or false" → "true or false values"
		elem := words(t.Elem())
		elem = strings.TrimPrefix(strings.TrimPrefix(elem, "an "), "a ")
		if elem == "true or false" {
			return "a list of true or false values"
		}
		return "a list of " + elem + "s"
	case reflect.Struct, reflect.Map:
		return "a table"
	}
	return t.String()
}

// lookup finds the value of a key of type t in the document. In an array of tables
// the key has no index: it is the first value that does not fit t.
func lookup(src []byte, key []string, t reflect.Type) (any, bool) {
	var doc map[string]any
	if toml.Unmarshal(src, &doc) != nil {
		return nil, false
	}
	var found []any
	var find func(v any, key []string)
	find = func(v any, key []string) {
		switch x := v.(type) {
		case map[string]any:
			if len(key) == 0 {
				found = append(found, v)
			} else if next, ok := x[key[0]]; ok {
				find(next, key[1:])
			}
		case []any:
			if len(key) == 0 {
				found = append(found, v)
				return
			}
			for _, e := range x {
				find(e, key)
			}
		default:
			if len(key) == 0 {
				found = append(found, v)
			}
		}
	}
	find(doc, key)
	for _, v := range found {
		if !fits(v, t) {
			return v, true
		}
	}
	if len(found) > 0 {
		return found[0], true
	}
	return nil, false
}

// fits tells whether the decoded TOML value v can be stored in a t.
func fits(v any, t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := v.(type) {
	case string:
		return t.Kind() == reflect.String
	case bool:
		return t.Kind() == reflect.Bool
	case int64:
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
			return true
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return x >= 0
		}
	case float64:
		return t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return false
		}
		for _, e := range x {
			if !fits(e, t.Elem()) {
				return false
			}
		}
		return true
	case map[string]any:
		return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
	}
	return false
}

// format writes a decoded TOML value as it would be written in TOML.
func format(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case float64:
		switch {
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		case math.IsNaN(x):
			return "nan"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = format(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprint(v)
}
