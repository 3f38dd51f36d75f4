package database_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dovvydive/backend/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdmitUserMessage_ConcurrentPostsStopExactlyAtTheQuotaWithOnePipelinedBatch(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var admitted, refused atomic.Int32
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.db.AdmitUserMessage(ctx, p.session, p.conv, fmt.Sprintf("message %d", i), models.Quota{Limit: 12, Window: time.Hour}, nil, 10)
			switch {
			case err == nil:
				admitted.Add(1)
			case errors.As(err, new(*models.QuotaError)):
				refused.Add(1)
			default:
				t.Errorf("message %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(12), admitted.Load())
	assert.Equal(t, int32(18), refused.Load())
	assert.Equal(t, 12, count(t, p.dsn, `SELECT count(*) FROM messages WHERE conversation_id = $1`, p.conv))
	assert.Equal(t, 12, count(t, p.dsn, `SELECT count(*) FROM message_quota WHERE session_id = $1`, p.session))
}

func TestAdmitUserMessage_ReadsTheTurnsBeforeTheNewMessage(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	first, err := p.db.AdmitUserMessage(ctx, p.session, p.conv, "Sipadan in May?", hourly, nil, 10)
	require.NoError(t, err)
	require.True(t, first.HasHistory)
	assert.Empty(t, first.History)
	assert.JSONEq(t, `{}`, string(first.Constraints))
	_, err = p.db.AddAssistantMessage(ctx, p.session, p.conv, models.AssistantReply{Content: "Barracuda Point.",
		Constraints: json.RawMessage(`{"months":[5]}`)})
	require.NoError(t, err)

	second, err := p.db.AdmitUserMessage(ctx, p.session, p.conv, "And in June?", hourly, nil, 10)
	require.NoError(t, err)
	assert.Equal(t, []models.Turn{{Role: "user", Content: "Sipadan in May?"}, {Role: "assistant", Content: "Barracuda Point."}}, second.History)
	assert.JSONEq(t, `{"months":[5]}`, string(second.Constraints))
	assert.Equal(t, 98, second.RateLimit.Remaining)
}

func TestAdmitUserMessage_RefusesWhatAddUserMessageRefuses(t *testing.T) {
	t.Parallel()
	p := newPlanner(t)
	ctx := context.Background()
	other := newSession(t, p.db)
	_, err := p.db.AdmitUserMessage(ctx, other, p.conv, "not mine", hourly, nil, 10)
	assert.ErrorIs(t, err, models.ErrNotFound, "another session's conversation")

	sql := openSQL(t, p.dsn)
	_, err = sql.Exec(`UPDATE guest_sessions SET created_at = now() - interval '2 days', last_seen_at = now() - interval '2 days',
		expires_at = now() - interval '1 second', absolute_expires_at = now() WHERE id = $1`, p.session)
	require.NoError(t, err)
	_, err = p.db.AdmitUserMessage(ctx, p.session, p.conv, "too late", hourly, nil, 10)
	assert.ErrorIs(t, err, models.ErrSessionExpired)
	assert.Equal(t, 0, count(t, p.dsn, `SELECT count(*) FROM messages`), "nothing stored")

	// An Idempotency-Key seen before is answered by AddUserMessage's rules.
	q := newPlanner(t)
	key := &models.IdempotencyRequest{Key: "k", Fingerprint: "f"}
	a, err := q.db.AdmitUserMessage(ctx, q.session, q.conv, "hello", hourly, key, 10)
	require.NoError(t, err)
	_, err = q.db.AdmitUserMessage(ctx, q.session, q.conv, "hello", hourly, key, 10)
	assert.ErrorIs(t, err, models.ErrIdempotencyInFlight)
	require.NoError(t, q.db.FailIdempotencyKey(ctx, q.session, "k"))
	again, err := q.db.AdmitUserMessage(ctx, q.session, q.conv, "hello", hourly, key, 10)
	require.NoError(t, err)
	assert.True(t, again.Regenerate)
	assert.False(t, again.HasHistory, "a regeneration reads its turns separately")
	assert.Equal(t, a.Message.ID, again.Message.ID)
}
