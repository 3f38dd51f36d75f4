package planner_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/dovvydive/backend/planner"
)

var titleDay = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func titleOf(message string) string {
	return planner.Title(message, planner.ExtractOn(message, planner.Constraints{}, titleDay))
}

func TestTitle_ComesFromTheConstraintsInTheDiversLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ message, want string }{
		{"I want to see hammerheads at Layang-Layang in April", "Hammerheads · Layang-Layang · April"},
		{"我想四月去拉央拉央看锤头鲨", "锤头鲨 · 拉央拉央岛 · 4月"},
		{"Where can I see turtles in Sabah?", "Turtles · Sabah"},
		{"Mantas and whale sharks, June to August", "Manta rays & Whale sharks · June–August"},
		{"七月去诗巴丹", "诗巴丹 · 7月"},
	} {
		assert.Equal(t, tc.want, titleOf(tc.message), tc.message)
	}
}

func TestTitle_WithoutATripIsTheFirstWordsOnOneLine(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "I'm Open Water certified, what do you suggest?", titleOf("  I'm Open Water\ncertified,\t what do you suggest?  "),
		"a certification alone names no trip")
	long := strings.Repeat("tell me everything about diving ", 5)
	got := titleOf(long)
	assert.LessOrEqual(t, utf8.RuneCountInString(got), planner.MaxTitleLength)
	assert.True(t, strings.HasSuffix(got, "…"), got)
	assert.NotContains(t, got, " …", "cut at a whole word")
	assert.True(t, strings.HasPrefix(long, strings.TrimSuffix(got, "…")), got)

	zh := strings.Repeat("你好请问潜水需要准备什么东西呢", 6)
	got = titleOf(zh)
	assert.Equal(t, planner.MaxTitleLength, utf8.RuneCountInString(got), "Chinese is cut between characters")
	assert.True(t, strings.HasSuffix(got, "…"))
}

func TestTitle_IsNeverLongerThan60Characters(t *testing.T) {
	t.Parallel()
	c := planner.ExtractOn("hammerheads, mantas, whale sharks and turtles at Layang-Layang, Sipadan and Mabul in January, March, May and July",
		planner.Constraints{}, titleDay)
	got := planner.Title("x", c)
	assert.LessOrEqual(t, utf8.RuneCountInString(got), planner.MaxTitleLength, got)
	assert.NotEmpty(t, got)
}
