package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// checkStrict checks, in one pass over data that json.Valid accepts, what
// encoding/json lets through: a key given twice in one object (it keeps the
// last silently), control characters such as NUL inside strings (valid JSON
// when escaped), and numbers beyond float64. Errors name the JSON path.
//
// It replaces a walk with json.Decoder.Token, which allocated for every
// token and took half the CPU of a search request with a 768-number vector.
func checkStrict(data []byte) error {
	s := strictScanner{data: data}
	return s.value()
}

type pathSeg struct {
	key   string
	index int // -1 for a key
}

type strictScanner struct {
	data []byte
	i    int
	path []pathSeg
	// onKey, when set, is called with the path of every object key, and
	// nulls counts the null literals: what a caller that skips schema
	// validation needs to know beyond types (see searchBody).
	onKey func(path []pathSeg)
	nulls int
}

// pathString renders the path only when an error needs it.
func (s *strictScanner) pathString() string {
	var b strings.Builder
	for _, p := range s.path {
		if p.index >= 0 {
			b.WriteString("[" + strconv.Itoa(p.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p.key)
	}
	return b.String()
}

func (s *strictScanner) skipSpace() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *strictScanner) value() error {
	if len(s.path) > maxDepth {
		return fmt.Errorf("must not nest deeper than %d levels", maxDepth)
	}
	s.skipSpace()
	switch c := s.data[s.i]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		text, err := s.str()
		if err != nil {
			return err
		}
		return checkText(s.pathString(), text)
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	default: // true, false, null
		if c == 'n' {
			s.nulls++
		}
		for s.i < len(s.data) && s.data[s.i] >= 'a' && s.data[s.i] <= 'z' {
			s.i++
		}
		return nil
	}
}

func (s *strictScanner) object() error {
	s.i++ // {
	var seen map[string]bool
	for {
		s.skipSpace()
		switch s.data[s.i] {
		case '}':
			s.i++
			return nil
		case ',':
			s.i++
			s.skipSpace()
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		s.path = append(s.path, pathSeg{key: key, index: -1})
		if err := checkText(s.pathString(), key); err != nil {
			return err
		}
		if seen == nil {
			seen = make(map[string]bool, 8)
		}
		if seen[key] {
			return fieldError(s.pathString(), "given more than once")
		}
		seen[key] = true
		if s.onKey != nil {
			s.onKey(s.path)
		}
		s.skipSpace()
		s.i++ // :
		if err := s.value(); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
	}
}

func (s *strictScanner) array() error {
	s.i++ // [
	for n := 0; ; n++ {
		s.skipSpace()
		switch s.data[s.i] {
		case ']':
			s.i++
			return nil
		case ',':
			s.i++
		}
		s.path = append(s.path, pathSeg{index: n})
		if err := s.value(); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
	}
}

// str reads the string at s.i. Only a string that could hold a control
// character (an escape, DEL, or a C1 control's UTF-8 lead byte 0xC2) is
// decoded; the rest are returned as they stand.
func (s *strictScanner) str() (string, error) {
	start := s.i
	s.i++ // "
	plain := true
	for {
		c := s.data[s.i]
		if c == '"' {
			break
		}
		if c == '\\' {
			plain = false
			s.i++ // the escaped byte, so \" does not end the string
		} else if c == 0x7f || c == 0xc2 {
			plain = false
		}
		s.i++
	}
	s.i++ // "
	raw := s.data[start:s.i]
	if plain {
		return string(raw[1 : len(raw)-1]), nil
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fieldError(s.pathString(), "must be a valid string")
	}
	return out, nil
}

// number rejects literals beyond float64, which only an exponent or more
// than 300 digits can make.
func (s *strictScanner) number() error {
	start := s.i
	exponent := false
scan:
	for ; s.i < len(s.data); s.i++ {
		switch s.data[s.i] {
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '.', '-', '+':
		case 'e', 'E':
			exponent = true
		default:
			break scan
		}
	}
	lit := s.data[start:s.i]
	if exponent || len(lit) > 300 {
		if _, err := strconv.ParseFloat(string(lit), 64); err != nil {
			return fieldError(s.pathString(), "must be a number within range")
		}
	}
	return nil
}

// strictJSON is the API's JSON: what encoding/json and huma's schema
// validation accept, less duplicate keys (huma validates a map, where the
// last duplicate silently wins), control characters in strings other than
// tab and newlines (NUL would reach PostgreSQL), invalid UTF-8 (which
// encoding/json silently replaces) and numbers out of range.
var strictJSON = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	},
	Unmarshal: decodeJSON,
}

// rawBody is a request body its handler decodes and validates itself (its
// operation sets SkipValidateBody): huma hands over a copy of the bytes.
type rawBody interface{ setRaw(data []byte) }

// decodeJSON is the API's JSON decoding: strictJSON.Unmarshal.
func decodeJSON(data []byte, v any) error {
	if rb, ok := v.(rawBody); ok {
		rb.setRaw(bytes.Clone(data)) // huma reuses its buffer once the body is parsed
		return nil
	}
	return decodeStrict(data, v)
}

// decodeStrict's errors name the field as "body.<path>: why", which fieldOf
// turns into the error's field.
func decodeStrict(data []byte, v any) error {
	if !utf8.Valid(data) {
		return errors.New("must be UTF-8 encoded")
	}
	if !json.Valid(data) {
		// Rare: encoding/json's own syntax check says where (it stops at
		// the error without building a value).
		return jsonSyntax(json.Unmarshal(data, new(any)))
	}
	if err := checkStrict(data); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			what := strings.Fields(typeErr.Value)
			switch {
			case len(what) > 0 && what[0] == "number":
				return fieldError(typeErr.Field, "must be a number within range")
			case len(what) > 0:
				return fieldError(typeErr.Field, "must not be "+article(what[0]))
			}
		}
		return errors.New("must be a JSON object")
	}
	return nil
}

func article(kind string) string {
	if strings.ContainsAny(kind[:1], "aeiou") {
		return "an " + kind
	}
	return "a " + kind
}

func fieldError(path, why string) error {
	if path == "" {
		return errors.New(why)
	}
	return fmt.Errorf("body.%s: %s", path, why)
}

// maxDepth bounds nesting: no request body is deeper than a few levels, and
// a megabyte of "[" must not recurse a million times.
const maxDepth = 32

func checkText(path, s string) error {
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) {
		return fieldError(path, "must not contain control characters such as NUL")
	}
	return nil
}

// jsonSyntax words encoding/json's syntax error for the client: where it is
// (the offending byte, counted from 0) or that the body ends too early.
func jsonSyntax(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn) && strings.HasPrefix(syn.Error(), "unexpected end of JSON input"):
		return errors.New("must be valid JSON (it ends too early)")
	case errors.As(err, &syn) && strings.HasSuffix(syn.Error(), "after top-level value"):
		return errors.New("must hold one JSON value")
	case errors.As(err, &syn):
		return fmt.Errorf("must be valid JSON (error at byte %d)", max(syn.Offset-1, 0))
	}
	return errors.New("must be valid JSON")
}
