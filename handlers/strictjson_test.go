package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// tokenWalk is the reference: the slow json.Decoder walk checkStrict
// replaced, kept here only as the oracle the scanner is held to.
func tokenWalk(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return checkValue(dec, "", 0)
}

var strictCases = []string{
	`{"query":"turtles","k":5}`,
	`{"k":1,"k":2}`,
	`{"filters":{"region":"a","region":"b"}}`,
	`{"query":"hammer\u0000head"}`,
	`{"filters":{"region":"a\u0000"}}`,
	`{"a\u0000":1}`,
	`{"q":"tab\there\nnewline"}`,
	`{"q":"del \u007f"}`,
	"{\"q\":\"raw del \x7f\"}",
	`{"q":"c1 \u0085"}`,
	"{\"q\":\"raw c1 \xc2\x85\"}",
	`{"q":"é中文"}`,
	`{"embedding":[1e400, 0]}`,
	`{"embedding":[0.1,-2.5e-3,1e-45,3.4e38]}`,
	`[{"a":1},{"a":1,"a":2}]`,
	`{"a":[[1,2],[3,{"b":"\u0001"}]]}`,
	`{"quote":"say \"hi\"","x":true,"y":null,"z":false}`,
	`"top-level string"`,
	`-0.5`,
	strings.Repeat("[", 33) + strings.Repeat("]", 33),
	strings.Repeat(`{"a":`, 32) + "1" + strings.Repeat("}", 32),
	strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33),
}

func TestCheckStrict_AgreesWithTheTokenWalkOnEverySeed(t *testing.T) {
	for _, c := range strictCases {
		assert.Equal(t, errText(tokenWalk([]byte(c))), errText(checkStrict([]byte(c))), c)
	}
	assert.Error(t, checkStrict([]byte(`{"k":1,"k":2}`)), "the control: duplicates are found")
}

func FuzzCheckStrict_AgreesWithTheTokenWalk(f *testing.F) {
	for _, c := range strictCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || !utf8.Valid(data) {
			return // decodeJSON never calls checkStrict on invalid JSON or UTF-8
		}
		if want, got := errText(tokenWalk(data)), errText(checkStrict(data)); want != got {
			t.Fatalf("%q: token walk says %q, checkStrict %q", data, want, got)
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkValue walks one JSON value from dec, checking keys and strings.
func checkValue(dec *json.Decoder, path string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("must not nest deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonSyntax(err)
	}
	switch t := tok.(type) {
	case string:
		return checkText(path, t)
	case json.Number:
		if f, err := t.Float64(); err != nil || math.IsInf(f, 0) {
			return fieldError(path, "must be a number within range")
		}
	case json.Delim:
		switch t {
		case '{':
			seen := map[string]bool{}
			for dec.More() {
				keyTok, err := dec.Token()
				if err != nil {
					return jsonSyntax(err)
				}
				key, _ := keyTok.(string)
				child := key
				if path != "" {
					child = path + "." + key
				}
				if err := checkText(child, key); err != nil {
					return err
				}
				if seen[key] {
					return fieldError(child, "given more than once")
				}
				seen[key] = true
				if err := checkValue(dec, child, depth+1); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if err := checkValue(dec, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
					return err
				}
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return jsonSyntax(err)
		}
	}
	return nil
}
