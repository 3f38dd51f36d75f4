package handlers

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
)

// notOnlySpace refuses exactly what strings.TrimSpace empties, and the
// tags that spell it out spell it alike.
func TestNotOnlySpace_MatchesExactlyTheTextTrimSpaceLeavesNonEmpty(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(notOnlySpace)
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue // not a character
		}
		s := string(r)
		if re.MatchString(s) != (strings.TrimSpace(s) != "") {
			t.Errorf("U+%04X: pattern %v, TrimSpace leaves %q", r, re.MatchString(s), strings.TrimSpace(s))
		}
	}
	for _, f := range []reflect.StructField{
		reflect.TypeFor[PostMessageBody]().Field(0), must(reflect.TypeFor[SearchRequest]().FieldByName("Query")),
		reflect.TypeFor[ConversationTitle]().Field(0),
	} {
		assert.Equal(t, notOnlySpace, f.Tag.Get("pattern"), f.Name)
	}
}

func must(f reflect.StructField, ok bool) reflect.StructField {
	if !ok {
		panic("no such field")
	}
	return f
}
