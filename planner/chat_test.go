package planner

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dovvydive/backend/models"
)

// fakeChatStore records what Chat asks of its store, in domain types only.
type fakeChatStore struct {
	admitted  models.Admission
	quota     models.Quota
	idem      *models.IdempotencyRequest
	history   int
	turnsRead int
	stored    []models.AssistantReply
	failed    []string
}

func (f *fakeChatStore) AdmitUserMessage(_ context.Context, _, _ uuid.UUID, _ string, q models.Quota,
	idem *models.IdempotencyRequest, history int) (models.Admission, error) {
	f.quota, f.idem, f.history = q, idem, history
	return f.admitted, nil
}

func (f *fakeChatStore) ConversationTurns(context.Context, uuid.UUID, uuid.UUID, uuid.UUID, int) (json.RawMessage, []models.Turn, error) {
	f.turnsRead++
	return json.RawMessage(`{"months":[4]}`), []models.Turn{{Role: models.RoleUser, Content: "earlier"}}, nil
}

func (f *fakeChatStore) AddAssistantMessage(_ context.Context, _, _ uuid.UUID, r models.AssistantReply) (models.Message, error) {
	f.stored = append(f.stored, r)
	return models.Message{ID: uuid.New(), Role: models.RoleAssistant, Content: r.Content}, nil
}

func (f *fakeChatStore) FailIdempotencyKey(_ context.Context, _ uuid.UUID, key string) error {
	f.failed = append(f.failed, key)
	return nil
}

// answerer answers with its reply or err, recording the turn it was given.
type answerer struct {
	err   error
	calls int
	turn  Turn
}

func (a *answerer) Plan(_ context.Context, turn Turn, _ func(string) error) (Reply, error) {
	a.calls++
	a.turn = turn
	return Reply{Content: "Layang-Layang in April.", Model: "test"}, a.err
}

func TestChat_AdmitsUnderTheDefaultQuotaWithTheHistoryDepthAndAKeyFingerprint(t *testing.T) {
	store := &fakeChatStore{}
	conv := uuid.New()
	_, err := NewChat(store, &answerer{}, 0, nil).Admit(context.Background(), uuid.New(), conv, "hammerheads?", "k1")
	require.NoError(t, err)
	assert.Equal(t, models.DefaultMessageQuota, store.quota)
	assert.Equal(t, models.HistoryTurns, store.history)
	require.NotNil(t, store.idem)
	assert.Equal(t, "k1", store.idem.Key)
	assert.Equal(t, fingerprint(conv, "hammerheads?"), store.idem.Fingerprint)

	_, err = NewChat(store, &answerer{}, 3, nil).Admit(context.Background(), uuid.New(), conv, "again", "")
	require.NoError(t, err)
	assert.Equal(t, 3, store.quota.Limit)
	assert.Nil(t, store.idem, "no key, no idempotency record")
}

func TestChat_AReplayIsAnsweredWithTheStoredReplyWithoutPlanning(t *testing.T) {
	store, p := &fakeChatStore{}, &answerer{}
	stored := models.Message{ID: uuid.New(), Content: "as before"}
	reply, err := NewChat(store, p, 0, nil).Answer(context.Background(), uuid.New(), uuid.New(),
		models.Admission{UserMessageResult: models.UserMessageResult{Replayed: true, Reply: &stored}}, "k1", nil)
	require.NoError(t, err)
	assert.Equal(t, stored, reply)
	assert.Zero(t, p.calls)
	assert.Empty(t, store.stored)
}

func TestChat_ARegenerationReadsTheTurnsThenStoresTheReplyCompletingTheKey(t *testing.T) {
	store, p := &fakeChatStore{}, &answerer{}
	adm := models.Admission{UserMessageResult: models.UserMessageResult{Message: models.Message{ID: uuid.New(), Content: "now?"},
		Regenerate: true}}
	_, err := NewChat(store, p, 0, nil).Answer(context.Background(), uuid.New(), uuid.New(), adm, "k1", nil)
	require.NoError(t, err)
	assert.Equal(t, 1, store.turnsRead, "no history came with the admission")
	assert.Equal(t, []Message{{Role: models.RoleUser, Content: "earlier"}}, p.turn.History)
	assert.Equal(t, []int{4}, p.turn.PrevConstraints.Months)
	require.Len(t, store.stored, 1)
	assert.Equal(t, "k1", store.stored[0].IdempotencyKey)
	assert.Empty(t, store.failed)
}

func TestChat_AFailedAnswerMarksTheKeyFailedAndStoresNoReply(t *testing.T) {
	for name, tc := range map[string]struct{ planErr, want error }{
		"upstream": {&ErrUpstream{Name: "gemini", Err: errors.New("HTTP 503")}, nil},
		"timeout":  {context.DeadlineExceeded, ErrAnswerTimeout},
	} {
		store := &fakeChatStore{}
		adm := models.Admission{HasHistory: true}
		_, err := NewChat(store, &answerer{err: tc.planErr}, 0, nil).Answer(context.Background(), uuid.New(), uuid.New(), adm, "k1", nil)
		if tc.want != nil {
			assert.ErrorIs(t, err, tc.want, name)
		} else {
			assert.ErrorIs(t, err, tc.planErr, name)
		}
		assert.Equal(t, []string{"k1"}, store.failed, name)
		assert.Empty(t, store.stored, name)
	}
}

func TestDecodeConstraints_UnreadableOrEmptyIsTheEmptySetWithEveryListEmpty(t *testing.T) {
	for _, raw := range []string{``, `{}`, `not json`} {
		c := DecodeConstraints(json.RawMessage(raw))
		assert.Equal(t, Constraints{}.normalized(), c, "%q", raw)
		assert.NotNil(t, c.AvoidPlaces, "%q", raw)
	}
}

// The stored reply carries the title of the message it answers (from the
// reply's constraints); the store writes it only while the conversation is
// untitled.
func TestChat_TheStoredReplyCarriesTheTitleOfTheMessageItAnswers(t *testing.T) {
	store := &fakeChatStore{}
	adm := models.Admission{HasHistory: true, UserMessageResult: models.UserMessageResult{
		Message: models.Message{ID: uuid.New(), Content: "Where can I see hammerheads?\nThanks!"}}}
	_, err := NewChat(store, &answerer{}, 0, nil).Answer(context.Background(), uuid.New(), uuid.New(), adm, "", nil)
	require.NoError(t, err)
	require.Len(t, store.stored, 1)
	assert.Equal(t, Title("Where can I see hammerheads?\nThanks!", Constraints{}), store.stored[0].Title)
	assert.Equal(t, "Where can I see hammerheads? Thanks!", store.stored[0].Title, "the first words, on one line")
}

// failingKeyStore cannot mark a key failed.
type failingKeyStore struct{ fakeChatStore }

func (f *failingKeyStore) FailIdempotencyKey(context.Context, uuid.UUID, string) error {
	return errors.New("connection refused")
}

func TestChat_AKeyItCannotMarkFailedIsLoggedWithTheConversation(t *testing.T) {
	var logs strings.Builder
	conv := uuid.New()
	_, err := NewChat(&failingKeyStore{}, &answerer{err: &ErrUpstream{Name: "gemini", Err: errors.New("HTTP 503")}}, 0,
		slog.New(slog.NewTextHandler(&logs, nil))).Answer(context.Background(), uuid.New(), conv, models.Admission{HasHistory: true}, "k1", nil)
	require.Error(t, err)
	assert.Contains(t, logs.String(), "idempotency key: could not mark failed")
	assert.Contains(t, logs.String(), conv.String())
}
