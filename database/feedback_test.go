package database_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/models"
)

// turn stores a user message and a reply in p's conversation and returns
// their ids.
func (p planner) turn(t *testing.T, question, reply, title string) (uuid.UUID, uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	q, err := p.db.AdmitUserMessage(ctx, p.session, p.conv, question, hourly, nil, 10)
	require.NoError(t, err)
	r, err := p.db.AddAssistantMessage(ctx, p.session, p.conv, models.AssistantReply{Content: reply, Title: title})
	require.NoError(t, err)
	return q.Message.ID, r.ID
}

func TestFeedback_OneRatingPerReplyOnlyOnTheSessionsOwnReplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPlanner(t)
	question, reply := p.turn(t, "Where are turtles?", "Sipadan.\nAll year.", "")

	first, err := p.db.PutFeedback(ctx, p.session, p.conv, reply, models.RatingUp, "great")
	require.NoError(t, err)
	second, err := p.db.PutFeedback(ctx, p.session, p.conv, reply, models.RatingDown, "")
	require.NoError(t, err)
	assert.Equal(t, first.CreatedAt, second.CreatedAt)
	assert.False(t, second.UpdatedAt.Before(first.UpdatedAt))
	assert.Equal(t, 1, count(t, p.dsn, `SELECT count(*) FROM message_feedback`))

	intruder := newSession(t, p.db)
	for name, tc := range map[string]struct{ session, conv, msg uuid.UUID }{
		"user message":    {p.session, p.conv, question},
		"another session": {intruder, p.conv, reply},
		"another conv":    {p.session, newConversation(t, p.db, p.session), reply},
		"missing message": {p.session, p.conv, uuid.New()},
	} {
		_, err := p.db.PutFeedback(ctx, tc.session, tc.conv, tc.msg, models.RatingUp, "")
		assert.ErrorIs(t, err, models.ErrNotFound, name)
		assert.ErrorIs(t, p.db.DeleteFeedback(ctx, tc.session, tc.conv, tc.msg), models.ErrNotFound, name)
	}
	_, err = p.db.PutFeedback(ctx, p.session, p.conv, reply, "sideways", "")
	assert.ErrorIs(t, err, models.ErrInvalid)
	_, err = p.db.PutFeedback(ctx, p.session, p.conv, reply, models.RatingUp, "a\x00b")
	assert.ErrorIs(t, err, models.ErrInvalid)

	require.NoError(t, p.db.DeleteFeedback(ctx, p.session, p.conv, reply))
	require.NoError(t, p.db.DeleteFeedback(ctx, p.session, p.conv, reply), "no rating left: still fine")
	assert.Zero(t, count(t, p.dsn, `SELECT count(*) FROM message_feedback`))

	_, err = p.db.PutFeedback(ctx, p.session, p.conv, reply, models.RatingDown, "")
	require.NoError(t, err)
	require.NoError(t, p.db.DeleteConversation(ctx, p.session, p.conv))
	assert.Zero(t, count(t, p.dsn, `SELECT count(*) FROM message_feedback`), "ratings die with their conversation")
}

func TestListRatedReplies_NewestFirstWithTheQuestionEachAnswered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPlanner(t)
	_, r1 := p.turn(t, "Where are turtles?", "Sipadan.\nAll year.", "")
	_, r2 := p.turn(t, "And hammerheads?", "Layang-Layang in April.", "")
	_, r3 := p.turn(t, "Mantas?", "Sipadan sometimes.", "")
	for _, r := range []struct {
		id      uuid.UUID
		rating  string
		comment string
	}{{r1, models.RatingDown, "not in December"}, {r3, models.RatingUp, ""}, {r2, models.RatingDown, ""}} {
		_, err := p.db.PutFeedback(ctx, p.session, p.conv, r.id, r.rating, r.comment)
		require.NoError(t, err)
		time.Sleep(2 * time.Millisecond)
	}
	down, err := p.db.ListRatedReplies(ctx, models.RatingDown, 10)
	require.NoError(t, err)
	require.Len(t, down, 2)
	assert.Equal(t, database.RatedReply{ConversationID: p.conv, MessageID: r2, Question: "And hammerheads?",
		Reply: "Layang-Layang in April.", Rating: "down", RatedAt: down[0].RatedAt}, down[0], "newest first")
	assert.Equal(t, "Where are turtles?", down[1].Question)
	assert.Equal(t, "not in December", down[1].Comment)

	one, err := p.db.ListRatedReplies(ctx, models.RatingDown, 1)
	require.NoError(t, err)
	assert.Len(t, one, 1)
	_, err = p.db.ListRatedReplies(ctx, "", 1)
	assert.ErrorIs(t, err, models.ErrInvalid)
}

func TestAddAssistantMessage_TitlesOnlyAConversationWithoutATitle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPlanner(t) // its conversation is titled "Sabah in May"
	p.turn(t, "Where are turtles?", "Sipadan.", "Turtles")
	title := func(conv uuid.UUID) string {
		var s string
		require.NoError(t, openSQL(t, p.dsn).QueryRow(`SELECT title FROM conversations WHERE id = $1`, conv).Scan(&s))
		return s
	}
	assert.Equal(t, "Sabah in May", title(p.conv))

	c, err := p.db.CreateConversation(ctx, p.session, "")
	require.NoError(t, err)
	q := planner{dsn: p.dsn, db: p.db, session: p.session, conv: c.ID}
	q.turn(t, "Where are turtles?", "Sipadan.", "Turtles · Sabah")
	assert.Equal(t, "Turtles · Sabah", title(c.ID))
	q.turn(t, "And hammerheads?", "Layang-Layang.", "Hammerheads")
	assert.Equal(t, "Turtles · Sabah", title(c.ID), "a later reply keeps the first title")

	var active time.Time
	require.NoError(t, openSQL(t, p.dsn).QueryRow(`SELECT updated_at FROM conversations WHERE id = $1`, c.ID).Scan(&active))
	renamed, err := p.db.RenameConversation(ctx, p.session, c.ID, "Honeymoon")
	require.NoError(t, err)
	assert.Equal(t, "Honeymoon", renamed.Title)
	assert.True(t, active.Equal(renamed.UpdatedAt), "renaming is not activity: the list order stays")
	q.turn(t, "Mantas?", "Sipadan.", "Mantas")
	assert.Equal(t, "Honeymoon", title(c.ID))

	_, err = p.db.RenameConversation(ctx, newSession(t, p.db), c.ID, "mine")
	assert.ErrorIs(t, err, models.ErrNotFound)
	_, err = p.db.RenameConversation(ctx, p.session, c.ID, "")
	assert.ErrorIs(t, err, models.ErrInvalid, "a diver's title is never empty, so '' always means untitled")
}

func TestShares_OneLinkPerConversationStoredAsTheHashAndGoneWithTheConversation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPlanner(t)
	p.turn(t, "Where are turtles?", "Sipadan.", "")
	hash := func(b byte) []byte {
		h := make([]byte, database.ShareTokenHashLength)
		h[0] = b
		return h
	}
	_, err := p.db.ShareConversation(ctx, p.session, p.conv, hash(1))
	require.NoError(t, err)
	_, err = p.db.ShareConversation(ctx, p.session, p.conv, hash(2))
	require.NoError(t, err)
	_, err = p.db.SharedConversationByToken(ctx, hash(1))
	assert.ErrorIs(t, err, models.ErrNotFound, "the new link replaced the old")
	sc, err := p.db.SharedConversationByToken(ctx, hash(2))
	require.NoError(t, err)
	assert.Equal(t, "Sabah in May", sc.Title)
	require.Len(t, sc.Messages, 2)
	assert.Equal(t, models.RoleUser, sc.Messages[0].Role)
	assert.False(t, sc.Truncated)

	_, err = p.db.ShareConversation(ctx, newSession(t, p.db), p.conv, hash(3))
	assert.ErrorIs(t, err, models.ErrNotFound)
	_, err = p.db.ShareConversation(ctx, p.session, p.conv, []byte("short"))
	assert.ErrorIs(t, err, models.ErrInvalid)
	_, err = p.db.SharedConversationByToken(ctx, nil)
	assert.ErrorIs(t, err, models.ErrNotFound, "any hash at all is just not found")

	require.NoError(t, p.db.DeleteConversation(ctx, p.session, p.conv))
	assert.Zero(t, count(t, p.dsn, `SELECT count(*) FROM conversation_shares`))
	assert.ErrorIs(t, p.db.RevokeShare(ctx, p.session, p.conv), models.ErrNotFound)
}

func TestSharedConversation_ShowsTheLatestMessagesAndSaysWhenOlderOnesAreLeftOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPlanner(t)
	db := openSQL(t, p.dsn)
	// MaxSharedMessages+2 messages, written directly: the quota would stop the API.
	_, err := db.Exec(`INSERT INTO messages (id, conversation_id, session_id, role, content, created_at)
		SELECT gen_random_uuid(), $1, $2, 'user', 'message ' || i, now() + i * interval '1 ms'
		  FROM generate_series(1, $3) i`, p.conv, p.session, database.MaxSharedMessages+2)
	require.NoError(t, err)
	_, err = p.db.ShareConversation(ctx, p.session, p.conv, make([]byte, database.ShareTokenHashLength))
	require.NoError(t, err)
	sc, err := p.db.SharedConversationByToken(ctx, make([]byte, database.ShareTokenHashLength))
	require.NoError(t, err)
	require.Len(t, sc.Messages, database.MaxSharedMessages)
	assert.True(t, sc.Truncated)
	assert.Equal(t, "message 3", sc.Messages[0].Content, "the oldest two are left out")
	assert.Equal(t, "message 202", sc.Messages[len(sc.Messages)-1].Content)
}

func TestAddAssistantMessage_AnUnstorableTitleStillStoresTheReply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPlanner(t)
	c, err := p.db.CreateConversation(ctx, p.session, "")
	require.NoError(t, err)
	q := planner{dsn: p.dsn, db: p.db, session: p.session, conv: c.ID}
	q.turn(t, "Where are turtles?", "Sipadan.", strings.Repeat("t", database.MaxTitleLength+1))
	assert.Equal(t, 1, count(t, p.dsn, `SELECT count(*) FROM messages WHERE conversation_id = $1 AND role = 'assistant'`, c.ID))
	assert.Equal(t, 1, count(t, p.dsn, `SELECT count(*) FROM conversations WHERE id = $1 AND title = ''`, c.ID))
}
