package database_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/models"
)

var hourly = models.DefaultMessageQuota

// planner is a migrated database with one session and one conversation.
type planner struct {
	dsn     string
	db      *database.DB
	session uuid.UUID
	conv    uuid.UUID
}

func newPlanner(t *testing.T) planner {
	t.Helper()
	dsn := dbtest.Migrated(t)
	db := openDB(t, dsn)
	p := planner{dsn: dsn, db: db}
	p.session = newSession(t, db)
	p.conv = newConversation(t, db, p.session)
	return p
}

func newSession(t *testing.T, db *database.DB) uuid.UUID {
	t.Helper()
	s, err := db.CreateGuestSession(context.Background(), "en", time.Hour)
	require.NoError(t, err)
	return s.ID
}

func newConversation(t *testing.T, db *database.DB, session uuid.UUID) uuid.UUID {
	t.Helper()
	c, err := db.CreateConversation(context.Background(), session, "Sabah in May")
	require.NoError(t, err)
	return c.ID
}

func count(t *testing.T, dsn, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, openSQL(t, dsn).QueryRow(query, args...).Scan(&n))
	return n
}

// openPool opens another application pool on dsn, as a second instance
// would, with room for one connection per concurrent request.
func openPool(t *testing.T, dsn string, conns int) *database.DB {
	t.Helper()
	cfg := dbtest.Config(dsn)
	cfg.Pool.MaxOpenConns, cfg.Pool.MaxIdleConns = conns, conns
	log, _ := dbtest.Logger()
	db, err := database.Open(context.Background(), cfg, log)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestQuota_150ConcurrentMessagesFromTwoInstancesAcceptExactly100(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	instances := []*database.DB{openPool(t, p.dsn, 75), openPool(t, p.dsn, 75)}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		accepted  int
		rejected  int
		others    []error
		remaining = map[int]bool{}
		start     = make(chan struct{})
	)
	for i := range 150 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := instances[i%2].AddUserMessage(context.Background(), p.session, p.conv,
				fmt.Sprintf("question %d", i), hourly, nil)
			mu.Lock()
			defer mu.Unlock()
			var qe *models.QuotaError
			switch {
			case err == nil:
				accepted++
				remaining[res.RateLimit.Remaining] = true
			case errors.As(err, &qe):
				rejected++
				assert.Equal(t, 100, qe.Limit)
				assert.InDelta(t, time.Hour.Seconds(), qe.RetryAfter.Seconds(), 60)
			default:
				others = append(others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Empty(t, others)
	assert.Equal(t, 100, accepted)
	assert.Equal(t, 50, rejected)
	assert.Len(t, remaining, 100, "each accepted message saw a different remaining count (0..99)")
	assert.Equal(t, 100, count(t, p.dsn, `SELECT count(*) FROM messages WHERE role = 'user'`))
	assert.Equal(t, 100, count(t, p.dsn, `SELECT count(*) FROM message_quota`))
}

func TestQuota_RejectedMessagesAreNotStoredOrCountedAndDeletingDoesNotRefund(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	q := models.Quota{Limit: 3, Window: time.Hour}
	for i := range 3 {
		res, err := p.db.AddUserMessage(ctx, p.session, p.conv, "hello", q, nil)
		require.NoError(t, err)
		assert.Equal(t, 2-i, res.RateLimit.Remaining)
		assert.Equal(t, 3, res.RateLimit.Limit)
		assert.InDelta(t, time.Hour.Seconds(), res.RateLimit.Reset.Seconds(), 60)
	}
	for range 5 {
		_, err := p.db.AddUserMessage(ctx, p.session, p.conv, "hello", q, nil)
		require.ErrorIs(t, err, models.ErrQuotaExceeded)
	}
	assert.Equal(t, 3, count(t, p.dsn, `SELECT count(*) FROM messages`))
	assert.Equal(t, 3, count(t, p.dsn, `SELECT count(*) FROM message_quota`))

	// The oldest message leaves the window in 30 minutes: that is the retry time.
	dbtest.Exec(t, p.dsn, `UPDATE message_quota SET created_at = created_at - interval '30 minutes'
		WHERE id = (SELECT min(id) FROM message_quota)`)
	_, err := p.db.AddUserMessage(ctx, p.session, p.conv, "hello", q, nil)
	var qe *models.QuotaError
	require.ErrorAs(t, err, &qe)
	assert.InDelta(t, (30 * time.Minute).Seconds(), qe.RetryAfter.Seconds(), 60)

	// Once it has left, exactly one more is accepted: the five rejected did not count.
	dbtest.Exec(t, p.dsn, `UPDATE message_quota SET created_at = created_at - interval '31 minutes'
		WHERE id = (SELECT min(id) FROM message_quota)`)
	res, err := p.db.AddUserMessage(ctx, p.session, p.conv, "hello", q, nil)
	require.NoError(t, err)
	assert.Equal(t, 0, res.RateLimit.Remaining)
	_, err = p.db.AddUserMessage(ctx, p.session, p.conv, "hello", q, nil)
	require.ErrorIs(t, err, models.ErrQuotaExceeded)

	// Deleting the conversation deletes its messages but not the quota used.
	require.NoError(t, p.db.DeleteConversation(ctx, p.session, p.conv))
	other := newConversation(t, p.db, p.session)
	_, err = p.db.AddUserMessage(ctx, p.session, other, "hello", q, nil)
	require.ErrorIs(t, err, models.ErrQuotaExceeded)
	assert.Zero(t, count(t, p.dsn, `SELECT count(*) FROM messages`))
}

func TestConversation_AnotherSessionsConversationIsNotFound(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	_, err := p.db.AddUserMessage(ctx, p.session, p.conv, "Where can I see hammerheads?", hourly, nil)
	require.NoError(t, err)
	intruder := newSession(t, p.db)

	_, err = p.db.GetConversation(ctx, intruder, p.conv, 20, "")
	assert.ErrorIs(t, err, models.ErrNotFound)
	_, err = p.db.AddUserMessage(ctx, intruder, p.conv, "mine now", hourly, nil)
	assert.ErrorIs(t, err, models.ErrNotFound)
	_, err = p.db.AddAssistantMessage(ctx, intruder, p.conv, models.AssistantReply{Content: "injected"})
	assert.ErrorIs(t, err, models.ErrNotFound)
	assert.ErrorIs(t, p.db.DeleteConversation(ctx, intruder, p.conv), models.ErrNotFound)
	list, next, err := p.db.ListConversations(ctx, intruder, 10, "")
	require.NoError(t, err)
	assert.Empty(t, list)
	assert.Empty(t, next)

	page, err := p.db.GetConversation(ctx, p.session, p.conv, 20, "")
	require.NoError(t, err, "the owner still sees it, untouched")
	require.Len(t, page.Messages, 1)
	_, err = p.db.AddUserMessage(ctx, uuid.New(), p.conv, "no session", hourly, nil)
	assert.ErrorIs(t, err, models.ErrNotFound)
}

func TestConversation_ListsNewestFirstAndPagesMessagesOldestFirst(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	convs := []uuid.UUID{p.conv}
	for range 4 {
		convs = append(convs, newConversation(t, p.db, p.session))
	}
	// Activity moves the first conversation to the front.
	_, err := p.db.AddUserMessage(ctx, p.session, p.conv, "m0", hourly, nil)
	require.NoError(t, err)
	want := []uuid.UUID{convs[0], convs[4], convs[3], convs[2], convs[1]}
	var got []uuid.UUID
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		list, next, err := p.db.ListConversations(ctx, p.session, 2, cursor)
		require.NoError(t, err)
		for _, c := range list {
			got = append(got, c.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	assert.Equal(t, want, got)

	for i := 1; i < 5; i++ {
		_, err := p.db.AddUserMessage(ctx, p.session, p.conv, fmt.Sprintf("m%d", i), hourly, nil)
		require.NoError(t, err)
	}
	page, err := p.db.GetConversation(ctx, p.session, p.conv, 2, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"m3", "m4"}, contents(page.Messages))
	require.NotEmpty(t, page.OlderCursor)
	page, err = p.db.GetConversation(ctx, p.session, p.conv, 2, page.OlderCursor)
	require.NoError(t, err)
	assert.Equal(t, []string{"m1", "m2"}, contents(page.Messages))
	page, err = p.db.GetConversation(ctx, p.session, p.conv, 2, page.OlderCursor)
	require.NoError(t, err)
	assert.Equal(t, []string{"m0"}, contents(page.Messages))
	assert.Empty(t, page.OlderCursor)

	_, _, err = p.db.ListConversations(ctx, p.session, 2, "not-a-cursor")
	assert.ErrorIs(t, err, models.ErrInvalid)
	_, err = p.db.GetConversation(ctx, p.session, p.conv, 2, cursor) // a conversations cursor
	assert.ErrorIs(t, err, models.ErrInvalid)
}

func contents(ms []models.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Content
	}
	return out
}

func TestConversation_DeleteRemovesItsMessagesAndReplyKeepsCitationsAndConstraints(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	_, err := p.db.AddUserMessage(ctx, p.session, p.conv, "Turtles in July?", hourly, nil)
	require.NoError(t, err)
	site := models.SiteID("sipadan-drop-off")
	reply, err := p.db.AddAssistantMessage(ctx, p.session, p.conv, models.AssistantReply{
		Content:     "Sipadan's Drop-Off has turtles all year.",
		Citations:   []models.Citation{{SiteID: site, Slug: "sipadan-drop-off", ChunkIndex: 1, Score: 0.8}},
		Sites:       []models.SiteSuggestion{{ID: site, Slug: "sipadan-drop-off", Reason: "turtles"}},
		Constraints: json.RawMessage(`{"months":[7]}`),
		Model:       "extractive",
	})
	require.NoError(t, err)
	assert.Equal(t, models.RoleAssistant, reply.Role)

	page, err := p.db.GetConversation(ctx, p.session, p.conv, 10, "")
	require.NoError(t, err)
	require.Len(t, page.Messages, 2)
	stored := page.Messages[1]
	assert.Equal(t, reply.ID, stored.ID)
	assert.Equal(t, reply.Citations, stored.Citations)
	assert.Equal(t, reply.Sites, stored.Sites)
	assert.JSONEq(t, `{"months":[7]}`, string(stored.Constraints))
	assert.JSONEq(t, `{"months":[7]}`, string(page.Conversation.Constraints), "constraints persist on the conversation")
	assert.Empty(t, page.Messages[0].Citations)

	require.NoError(t, p.db.DeleteConversation(ctx, p.session, p.conv))
	assert.Zero(t, count(t, p.dsn, `SELECT count(*) FROM messages`))
	_, err = p.db.GetConversation(ctx, p.session, p.conv, 10, "")
	assert.ErrorIs(t, err, models.ErrNotFound)
	assert.ErrorIs(t, p.db.DeleteConversation(ctx, p.session, p.conv), models.ErrNotFound)
}

func TestConversation_RefusesWhatTheTableWouldRefuse(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	_, err := p.db.CreateConversation(ctx, p.session, string(make([]rune, 201)))
	assert.ErrorIs(t, err, models.ErrInvalid)
	for _, content := range []string{"", "   ", "a\x00b", "\xff"} {
		_, err := p.db.AddUserMessage(ctx, p.session, p.conv, content, hourly, nil)
		assert.ErrorIs(t, err, models.ErrInvalid, "%q", content)
	}
	_, err = p.db.CreateConversation(ctx, uuid.New(), "no such session")
	assert.ErrorIs(t, err, models.ErrNotFound)
	_, err = p.db.AddUserMessage(ctx, p.session, p.conv, "hi", hourly, &models.IdempotencyRequest{Key: "k"})
	assert.ErrorIs(t, err, models.ErrInvalid, "a key without a fingerprint cannot detect reuse")
	_, err = p.db.AddUserMessage(ctx, p.session, p.conv, "hi", hourly, &models.IdempotencyRequest{Key: strings.Repeat("k", 256), Fingerprint: "f"})
	assert.ErrorIs(t, err, models.ErrInvalid)
	_, err = p.db.CreateGuestSessionCapped(ctx, models.NewGuestSession{Language: "fr", TTL: time.Hour,
		ClientKey: models.ClientKey([]byte("s"), "192.0.2.1"), Limit: 1, Window: time.Hour})
	assert.ErrorIs(t, err, models.ErrInvalid)
	assert.Zero(t, count(t, p.dsn, `SELECT count(*) FROM messages`))
}

func TestIdempotency_ReplayConflictMismatchAndRegenerate(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	key := &models.IdempotencyRequest{Key: "k-1", Fingerprint: "f-1"}

	first, err := p.db.AddUserMessage(ctx, p.session, p.conv, "Hammerheads?", hourly, key)
	require.NoError(t, err)
	assert.False(t, first.Replayed || first.Regenerate)

	// While the first is generating, the same key is a conflict (409)...
	_, err = p.db.AddUserMessage(ctx, p.session, p.conv, "Hammerheads?", hourly, key)
	assert.ErrorIs(t, err, models.ErrIdempotencyInFlight)
	// ...and the key with another request a mismatch (422), as in another conversation.
	_, err = p.db.AddUserMessage(ctx, p.session, p.conv, "Whale sharks?", hourly,
		&models.IdempotencyRequest{Key: "k-1", Fingerprint: "f-2"})
	assert.ErrorIs(t, err, models.ErrIdempotencyMismatch)
	_, err = p.db.AddUserMessage(ctx, p.session, newConversation(t, p.db, p.session), "Hammerheads?", hourly, key)
	assert.ErrorIs(t, err, models.ErrIdempotencyMismatch)

	// Generation fails: a retry regenerates for the stored message.
	require.NoError(t, p.db.FailIdempotencyKey(ctx, p.session, key.Key))
	retry, err := p.db.AddUserMessage(ctx, p.session, p.conv, "Hammerheads?", hourly, key)
	require.NoError(t, err)
	assert.True(t, retry.Regenerate)
	assert.Equal(t, first.Message.ID, retry.Message.ID)
	assert.Equal(t, "Hammerheads?", retry.Message.Content)
	assert.Equal(t, 99, retry.RateLimit.Remaining, "a regeneration is not charged")
	_, err = p.db.AddUserMessage(ctx, p.session, p.conv, "Hammerheads?", hourly, key)
	assert.ErrorIs(t, err, models.ErrIdempotencyInFlight, "the regeneration holds the key")

	reply, err := p.db.AddAssistantMessage(ctx, p.session, p.conv,
		models.AssistantReply{Content: "Layang-Layang in April.", Model: "extractive", IdempotencyKey: key.Key})
	require.NoError(t, err)
	replay, err := p.db.AddUserMessage(ctx, p.session, p.conv, "Hammerheads?", hourly, key)
	require.NoError(t, err)
	assert.True(t, replay.Replayed)
	require.NotNil(t, replay.Reply)
	assert.Equal(t, reply.ID, replay.Reply.ID)
	assert.Equal(t, "Layang-Layang in April.", replay.Reply.Content)
	assert.Equal(t, first.Message.ID, replay.Message.ID)

	assert.Equal(t, 1, count(t, p.dsn, `SELECT count(*) FROM messages WHERE role = 'user'`), "one user message however many retries")
	assert.Equal(t, 1, count(t, p.dsn, `SELECT count(*) FROM message_quota`))

	// Keys are per session: another session may use the same key.
	other := newSession(t, p.db)
	_, err = p.db.AddUserMessage(ctx, other, newConversation(t, p.db, other), "Hammerheads?", hourly, key)
	require.NoError(t, err)
}

func TestIdempotency_AStaleLeaseOrExpiredKeyIsTakenOver(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	key := &models.IdempotencyRequest{Key: "k", Fingerprint: "f"}
	first, err := p.db.AddUserMessage(ctx, p.session, p.conv, "Q", hourly, key)
	require.NoError(t, err)

	// The generating process died: once its lease has passed, a retry regenerates.
	dbtest.Exec(t, p.dsn, `UPDATE idempotency_keys SET lease_until = now() - interval '1 second'`)
	retry, err := p.db.AddUserMessage(ctx, p.session, p.conv, "Q", hourly, key)
	require.NoError(t, err)
	assert.True(t, retry.Regenerate)
	assert.Equal(t, first.Message.ID, retry.Message.ID)

	// An expired key is a new key: a new message, charged again.
	dbtest.Exec(t, p.dsn, `UPDATE idempotency_keys SET expires_at = now() - interval '1 second'`)
	again, err := p.db.AddUserMessage(ctx, p.session, p.conv, "Q", hourly, key)
	require.NoError(t, err)
	assert.False(t, again.Regenerate || again.Replayed)
	assert.NotEqual(t, first.Message.ID, again.Message.ID)
	assert.Equal(t, 2, count(t, p.dsn, `SELECT count(*) FROM messages`))
}
