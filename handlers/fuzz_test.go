package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/dovvydive/backend/handlers"
	"github.com/dovvydive/backend/handlers/contracttest"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
)

// The fuzz targets drive the real router in process over a store that
// rejects what PostgreSQL would reject (NUL, invalid UTF-8, vectors that are
// not 768 finite numbers) with driver-like error text, so any bad input that
// gets past the decoders shows up as a 500 with that text in the log.
// Run one with: go test ./handlers/ -run '^$' -fuzz '^FuzzSearch$' -fuzztime 20s

// pickyStore is a handlers.Store that checks its inputs like PostgreSQL.
type pickyStore struct{ testStore }

var errDriver = errors.New(`ERROR: invalid byte sequence for encoding "UTF8": 0x00 (SQLSTATE 22021)`)

func pgText(ss ...string) error {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return errDriver
		}
	}
	return nil
}

func (pickyStore) ListDiveSites(_ context.Context, f models.SiteFilter) (models.SitePage, error) {
	if err := pgText(append([]string{f.Region, f.State, f.Difficulty, f.Name}, f.Certifications...)...); err != nil {
		return models.SitePage{}, err
	}
	if f.Limit < 1 || f.Offset < 0 {
		return models.SitePage{}, fmt.Errorf("ERROR: LIMIT must not be negative (SQLSTATE 2201W)")
	}
	return models.SitePage{Sites: []models.DiveSiteSummary{{ID: uuid.New(), Slug: "s",
		Difficulty: models.DifficultyBeginner, MinCertification: "open_water", BestMonths: []int{3}, MarineLife: []string{"turtle"}}}, Total: 1}, nil
}

func (pickyStore) ListDiveOperators(_ context.Context, f models.OperatorFilter) (models.OperatorPage, error) {
	if err := pgText(f.Region); err != nil {
		return models.OperatorPage{}, err
	}
	return models.OperatorPage{Operators: []models.DiveOperator{{ID: uuid.New(), Agencies: []string{}, Languages: []string{"en"}}}, Total: 1}, nil
}

func (pickyStore) CreateGuestSessionCapped(_ context.Context, n models.NewGuestSession) (models.GuestSession, error) {
	if n.Language != "en" && n.Language != "zh" {
		return models.GuestSession{}, fmt.Errorf("ERROR: new row violates check constraint (SQLSTATE 23514)")
	}
	now := time.Now().UTC()
	return models.GuestSession{ID: uuid.New(), Language: n.Language, CreatedAt: now, ExpiresAt: now.Add(n.TTL)}, nil
}

func (pickyStore) Search(_ context.Context, vec []float32, k, _ int, f models.SearchFilter) ([]models.SearchHit, error) {
	if err := pgText(append([]string{f.Region, f.State, f.Difficulty}, f.Certifications...)...); err != nil {
		return nil, err
	}
	if len(vec) != embedding.Dimensions || k < 1 {
		return nil, errors.New("ERROR: different vector dimensions 768 and 3 (SQLSTATE 22000)")
	}
	var sq float32
	for _, x := range vec {
		sq += x * x
	}
	if sq == 0 || math.IsInf(float64(sq), 0) || math.IsNaN(float64(sq)) {
		return nil, nil // what pgvector's NaN distances made of it: nothing
	}
	return []models.SearchHit{{SiteID: uuid.New(), Slug: "s", Language: "en", Content: "text", Score: 0.5, Difficulty: "beginner"}}, nil
}

func (pickyStore) TextSearch(_ context.Context, query string, animals []string, k int, f models.SearchFilter) ([]models.SearchHit, error) {
	if err := pgText(append(append([]string{query, f.Region, f.State, f.Difficulty}, f.Certifications...), animals...)...); err != nil {
		return nil, err
	}
	if k < 1 {
		return nil, errors.New("ERROR: LIMIT must not be negative (SQLSTATE 2201W)")
	}
	return []models.SearchHit{{ChunkID: 2, SiteID: uuid.New(), Slug: "t", Language: "zh", Content: "文字", Score: 0.3, Difficulty: "beginner"}}, nil
}

var (
	fuzzOnce     sync.Once
	fuzzRouter   http.Handler
	fuzzContract *contracttest.Contract
)

func fuzzSetup(f *testing.F) {
	fuzzOnce.Do(func() {
		r, err := testRouter(serverConfig{RouterConfig: handlers.RouterConfig{Log: slog.New(slog.DiscardHandler), RequestTimeout: 5 * time.Second,
			MaxBodyBytes: 1 << 20, SessionSecret: []byte("fuzz-secret-fuzz-secret-fuzz-secret!")}, SessionTTL: time.Hour,
			Embedder: embedding.Hash{}}, pickyStore{})
		if err != nil {
			panic(err)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, contracttest.SpecPath, nil))
		c, err := contracttest.Parse(rec.Body.Bytes())
		if err != nil {
			panic(err)
		}
		fuzzRouter, fuzzContract = r, c
	})
}

// goInternals is text that must never reach a client: Go types, decoder
// and driver messages.
var goInternals = regexp.MustCompile(`\b(handlers|knowledge|models|database|embedding)\.[A-Za-z]|\b(float32|float64|int64|uint8|\[\]byte)\b|map\[|json: |SQLSTATE|pgx|strconv|reflect|goroutine|\.go:\d`)

// checkAnswer fails on a 5xx, an empty 2xx, internal text, or an answer the
// contract does not allow.
func checkAnswer(t *testing.T, req *http.Request) {
	t.Helper()
	rec := httptest.NewRecorder()
	fuzzRouter.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Code >= 500 {
		t.Fatalf("%s %s answered %d: %s", req.Method, req.URL, rec.Code, body)
	}
	var parsed map[string]any
	if err := json.Unmarshal(body, &parsed); err != nil {
		t.Fatalf("%s %s answered %d with a body that is not a JSON object: %q", req.Method, req.URL, rec.Code, body)
	}
	if rec.Code < 300 && parsed["data"] == nil {
		t.Fatalf("%s %s answered %d without data: %s", req.Method, req.URL, rec.Code, body)
	}
	if e, ok := parsed["error"].(map[string]any); ok {
		msg, _ := e["message"].(string)
		field, _ := e["field"].(string)
		// The field is the client's own text (an unknown key is echoed back).
		if m := goInternals.FindString(strings.ReplaceAll(msg, field, "")); m != "" {
			t.Fatalf("%s %s: message shows internals %q: %s", req.Method, req.URL, m, body)
		}
	}
	if err := fuzzContract.Check(req, rec.Code, rec.Header(), body); err != nil {
		t.Fatalf("%s %s answered %d outside the contract: %v\n%s", req.Method, req.URL, rec.Code, err, body)
	}
}

func newBodyRequest(method, path, contentType, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return req
}

// FuzzSearch: any body for POST /api/v1/search.
func FuzzSearch(f *testing.F) {
	for _, seed := range []string{
		`{"query":"hammerhead sharks","k":5,"filters":{"region":"Sabah","certification":"advanced_open_water","maxDepth":30}}`,
		`{"embedding":` + repeatVector("3.4e38", 768) + `}`,
		`{"embedding":` + repeatVector("1e-45", 768) + `}`,
		`{"embedding":[1e-30` + strings.Repeat(",0", 767) + `]}`,
		`{"embedding":` + repeatVector("1e-30", 768) + `}`,
		`{"embedding":` + repeatVector("1e38", 768) + `}`,
		`{"embedding":` + repeatVector("0.1", 768) + `}`,
		`{"query":"x","filters":{"region":"a\u0000"}}`,
		`{"QUERY":"x"}`, `{"query":"x","query":"y"}`, `{"query":"x","k":2.5}`, `{"query":5}`,
		`{"filters":{"maxDepth":1e999}}`, `{"query":"x"}{"query":"y"}`, `[]`, `null`, `"x"`, ``,
	} {
		f.Add(seed)
	}
	fuzzSetup(f)
	f.Fuzz(func(t *testing.T, body string) {
		checkAnswer(t, newBodyRequest(http.MethodPost, "/api/v1/search", "application/json", body))
	})
}

// FuzzJSONBody: any body and content type for POST /api/v1/sessions.
func FuzzJSONBody(f *testing.F) {
	for _, seed := range [][2]string{
		{"application/json", `{"language":"zh"}`}, {"APPLICATION/JSON", `{"language":"en"}`},
		{"application/json", `{"LANGUAGE":"zh"}`}, {"application/json", `{"language":"en","language":"zh"}`},
		{"application/json", `{"language":"a\u0000"}`}, {"application/json", "{\"language\":\"\xff\"}"},
		{"application/json", `{"language":5}`}, {"text/plain", `{}`}, {"application/json; charset=utf-8", ``},
		{"application/json", `{"language":`}, {"application/json", `{"a":{"b":[1,2,{"c":null}]}}`},
	} {
		f.Add(seed[0], seed[1])
	}
	fuzzSetup(f)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		if strings.ContainsAny(contentType, "\r\n") {
			return // not a header value a client can send
		}
		checkAnswer(t, newBodyRequest(http.MethodPost, "/api/v1/sessions", contentType, body))
	})
}

// FuzzQuery: any raw query string for the two list routes.
func FuzzQuery(f *testing.F) {
	for _, seed := range []string{
		"region=semporna&limit=3", "limit=0", "limit=99999999999999999999", "limit=1&limit=2", "region=",
		"q=a%00b", "q=%ff%fe", "q=%zz", "difficulty=extreme", "maxDepth=1e3", "color=blue", "siteId=00000000-0000-0000-0000-000000000000",
		"siteId=" + uuid.NewString(), "certification=open_water&maxDepth=25&offset=100000", ";", "a=1;b=2",
	} {
		f.Add(seed)
	}
	fuzzSetup(f)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, path := range []string{"/api/v1/dive-sites", "/api/v1/dive-operators"} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.URL.RawQuery = raw
			checkAnswer(t, req)
		}
	})
}
