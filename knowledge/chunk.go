package knowledge

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Chunk is a piece of a document small enough to embed and to quote.
type Chunk struct {
	Index  int
	Text   string
	Tokens int
}

// tokenPattern approximates model tokens: words, numbers, and each other
// visible character. Real tokenizers split long words further, so a chunk of
// 500 such tokens stays well within gemini-embedding-001's 2,048-token input.
var tokenPattern = regexp.MustCompile(`\p{Han}|[\p{L}\p{N}]+|[^\s\p{L}\p{N}]`)

// CountTokens estimates the tokens in s.
func CountTokens(s string) int { return len(tokenPattern.FindAllStringIndex(s, -1)) }

// sentenceEnd ends an English sentence at a full stop followed by space, and
// a Chinese one at a full-width stop whether or not space follows (Chinese
// puts none between sentences).
var sentenceEnd = regexp.MustCompile(`[.!?]["')\]]*\s+|[。！？][”’」』）)]*\s*`)

// Split cuts text into chunks of at most maxTokens, on paragraph boundaries
// where it can and sentence boundaries where it must, each chunk after the
// first starting with the last sentences of the one before (up to overlap
// tokens) so that a fact spanning a boundary is whole in one chunk.
func Split(text string, maxTokens, overlap int) []Chunk {
	var units []string // sentences, with paragraph breaks kept as "\n\n" prefixes
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		for i, s := range sentences(para) {
			if i == 0 && len(units) > 0 {
				s = "\n\n" + s
			}
			units = append(units, s)
		}
	}
	var chunks []Chunk
	var cur []string // the chunk being built: overlap carried over, then fresh sentences
	curTokens, fresh := 0, 0
	emit := func() {
		body := joinSentences(cur)
		chunks = append(chunks, Chunk{Index: len(chunks), Text: body, Tokens: CountTokens(body)})
		// Carry the tail forward as overlap.
		var tail []string
		n := 0
		for i := len(cur) - 1; i >= 0; i-- {
			t := CountTokens(cur[i])
			if n+t > overlap {
				break
			}
			tail = append([]string{strings.TrimPrefix(cur[i], "\n\n")}, tail...)
			n += t
		}
		cur, curTokens, fresh = tail, n, 0
	}
	for _, u := range units {
		t := CountTokens(u)
		if curTokens+t > maxTokens {
			if fresh > 0 {
				emit()
			}
			if curTokens+t > maxTokens { // the overlap alone leaves no room
				cur, curTokens = nil, 0
			}
		}
		cur = append(cur, u)
		curTokens += t
		fresh++
	}
	if fresh > 0 || len(chunks) == 0 {
		emit()
	}
	return chunks
}

// joinSentences puts sentences back together: a space after an English one,
// none after a Chinese one, and paragraph breaks where they were.
func joinSentences(units []string) string {
	var b strings.Builder
	for i, u := range units {
		if i > 0 && !strings.HasPrefix(u, "\n\n") {
			if r, _ := utf8.DecodeLastRuneInString(units[i-1]); !unicode.Is(unicode.Han, r) && !strings.ContainsRune("。！？”’」』）", r) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(u)
	}
	return strings.TrimSpace(b.String())
}

func sentences(para string) []string {
	var out []string
	for {
		loc := sentenceEnd.FindStringIndex(para)
		if loc == nil {
			break
		}
		out = append(out, strings.TrimSpace(para[:loc[1]]))
		para = para[loc[1]:]
	}
	if strings.TrimSpace(para) != "" {
		out = append(out, strings.TrimSpace(para))
	}
	return out
}
