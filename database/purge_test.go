package database_test

import (
	"context"
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

// fillSession gives a session two conversations, each with a keyed question,
// its reply and an unkeyed question: 2 conversations, 6 messages, 2 keys and
// 4 quota entries.
func fillSession(t *testing.T, db *database.DB, session uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	for c := range 2 {
		conv := newConversation(t, db, session)
		key := &models.IdempotencyRequest{Key: fmt.Sprint("key-", c), Fingerprint: "f"}
		_, err := db.AddUserMessage(ctx, session, conv, "question", hourly, key)
		require.NoError(t, err)
		_, err = db.AddAssistantMessage(ctx, session, conv, models.AssistantReply{Content: "answer", IdempotencyKey: key.Key})
		require.NoError(t, err)
		_, err = db.AddUserMessage(ctx, session, conv, "follow-up", hourly, nil)
		require.NoError(t, err)
	}
}

func TestPurge_TwoConcurrentPurgesDeleteEverythingExpiredAndNothingLive(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Migrated(t)
	db := openDB(t, dsn)
	ctx := context.Background()
	var live, expired []uuid.UUID
	for i := range 36 {
		s := newSession(t, db)
		fillSession(t, db, s)
		if i%3 == 0 {
			live = append(live, s)
		} else {
			expired = append(expired, s)
		}
	}
	expire(t, dsn, expired...)
	// Housekeeping of live sessions: an expired key and a quota entry past retention.
	dbtest.Exec(t, dsn,
		fmt.Sprintf(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE session_id = '%s' AND key = 'key-0'`, live[0]),
		fmt.Sprintf(`UPDATE message_quota SET created_at = now() - interval '25 hours' WHERE id = (SELECT min(id) FROM message_quota WHERE session_id = '%s')`, live[1]),
		`INSERT INTO session_creations (client_key, created_at) VALUES (repeat('ab', 32), now() - interval '2 days'), (repeat('cd', 32), now())`)

	// Two hosts purge at once while live sessions keep talking.
	purgers := []*database.DB{openPool(t, dsn, 4), openPool(t, dsn, 4)}
	results := make([]database.PurgeResult, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range purgers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = purgers[i].PurgeExpired(ctx, 7)
		}()
	}
	activity := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				activity <- nil
				return
			default:
			}
			s := live[i%len(live)]
			if _, err := db.TouchSession(ctx, s, time.Hour); err != nil {
				activity <- err
				return
			}
			conv, err := db.CreateConversation(ctx, s, "busy")
			if err != nil {
				activity <- err
				return
			}
			if err := db.DeleteConversation(ctx, s, conv.ID); err != nil {
				activity <- err
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	require.NoError(t, <-activity)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])

	total := database.PurgeResult{}
	for _, r := range results {
		total.Sessions += r.Sessions
		total.Conversations += r.Conversations
		total.Messages += r.Messages
		total.IdempotencyKeys += r.IdempotencyKeys
		total.QuotaEntries += r.QuotaEntries
		total.SessionCreations += r.SessionCreations
	}
	n := int64(len(expired))
	assert.Equal(t, database.PurgeResult{Sessions: n, Conversations: 2 * n, Messages: 6 * n,
		IdempotencyKeys: 2*n + 1, QuotaEntries: 4*n + 1, SessionCreations: 1}, total)

	ids := make([]string, len(live))
	for i, s := range live {
		ids[i] = "'" + s.String() + "'"
	}
	in := strings.Join(ids, ",")
	assert.Equal(t, len(live), count(t, dsn, `SELECT count(*) FROM guest_sessions`))
	assert.Equal(t, len(live), count(t, dsn, `SELECT count(*) FROM guest_sessions WHERE id IN (`+in+`)`))
	assert.Equal(t, 6*len(live), count(t, dsn, `SELECT count(*) FROM messages WHERE session_id IN (`+in+`)`))
	assert.Equal(t, 6*len(live), count(t, dsn, `SELECT count(*) FROM messages`))
	assert.Equal(t, 2*len(live)-1, count(t, dsn, `SELECT count(*) FROM idempotency_keys`))
	assert.Equal(t, 4*len(live)-1, count(t, dsn, `SELECT count(*) FROM message_quota`))
	assert.Equal(t, 1, count(t, dsn, `SELECT count(*) FROM session_creations`))

	again, err := db.PurgeExpired(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, database.PurgeResult{}, again, "nothing left to purge")
}
