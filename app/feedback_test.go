package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/database/dbtest"
	"github.com/dovvydive/backend/models"
)

func TestWriteRatedReplies_OneBlockPerReplyEachTextOnOneLine(t *testing.T) {
	var out bytes.Buffer
	conv, msg := uuid.New(), uuid.New()
	writeRatedReplies(&out, "down", []database.RatedReply{{ConversationID: conv, MessageID: msg,
		Question: "Where are\nturtles?", Reply: "\nSipadan has turtles all year.\nSecond line.", Rating: "down",
		RatedAt: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}})
	assert.Equal(t, "1 reply rated down\n\nconversation "+conv.String()+"  message "+msg.String()+"  rated down 2026-12-03 10:00:00Z\n"+
		"  question: Where are turtles?\n  reply:    Sipadan has turtles all year.\n  comment:  (none)\n", out.String())
}

// TestFeedbackList_PrintsTheRepliesRatedDown runs the command against a
// migrated database (DATABASE_URL), as an operator would after `make
// feedback-down`.
func TestFeedbackList_PrintsTheRepliesRatedDown(t *testing.T) {
	dsn := dbtest.Migrated(t)
	ctx := context.Background()
	db, err := database.Open(ctx, dbtest.Config(dsn), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	s, err := db.CreateGuestSession(ctx, "en", time.Hour)
	require.NoError(t, err)
	c, err := db.CreateConversation(ctx, s.ID, "")
	require.NoError(t, err)
	var replies []uuid.UUID
	for _, q := range []string{"Where are hammerheads in December?", "Is Sipadan open?"} {
		_, err := db.AdmitUserMessage(ctx, s.ID, c.ID, q, models.DefaultMessageQuota, nil, 10)
		require.NoError(t, err)
		r, err := db.AddAssistantMessage(ctx, s.ID, c.ID, models.AssistantReply{Content: "Answer to: " + q + "\nMore."})
		require.NoError(t, err)
		replies = append(replies, r.ID)
	}
	_, err = db.PutFeedback(ctx, s.ID, c.ID, replies[0], models.RatingDown, "hammerheads are not there in December")
	require.NoError(t, err)
	_, err = db.PutFeedback(ctx, s.ID, c.ID, replies[1], models.RatingUp, "")
	require.NoError(t, err)

	t.Setenv("DATABASE_PROVIDER", "local")
	t.Setenv("DATABASE_URL", dsn)
	var stdout, stderr bytes.Buffer
	cmd := NewCommand(&stdout, &stderr)
	cmd.SetArgs([]string{"feedback", "list", "--rating", "down"})
	require.NoError(t, cmd.Execute(), stderr.String())
	out := stdout.String()
	assert.True(t, strings.HasPrefix(out, "1 reply rated down\n"), out)
	for _, want := range []string{c.ID.String(), replies[0].String(), "question: Where are hammerheads in December?",
		"reply:    Answer to: Where are hammerheads in December?\n", "comment:  hammerheads are not there in December"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "Is Sipadan open?", "rated up")

	cmd = NewCommand(&stdout, &stderr)
	cmd.SetArgs([]string{"feedback", "list", "--rating", "sideways"})
	assert.ErrorContains(t, cmd.Execute(), `--rating is "sideways", want up or down`)
}
