package database

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/dovvydive/backend/models"
)

// MaxTitleLength is the longest conversation title, in characters.
const MaxTitleLength = 200

// CreateConversation starts a conversation in a session. A session that
// does not exist is models.ErrNotFound.
func (d *DB) CreateConversation(ctx context.Context, sessionID uuid.UUID, title string) (models.Conversation, error) {
	if err := checkText("title", title, 0, MaxTitleLength); err != nil {
		return models.Conversation{}, err
	}
	c := models.Conversation{ID: newID(), SessionID: sessionID, Title: title, Constraints: json.RawMessage(`{}`)}
	err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `INSERT INTO conversations (id, session_id, title) VALUES ($1, $2, $3)
			RETURNING created_at, updated_at`, c.ID, sessionID, title).Scan(&c.CreatedAt, &c.UpdatedAt)
	})
	if err != nil {
		return models.Conversation{}, notFoundOnForeignKey(err)
	}
	return c, nil
}

// ListConversations returns a page of a session's conversations, most
// recently active first, and the cursor of the next page ("" at the end).
// A conversation that becomes active while a client pages moves to the
// front, so it may be seen twice or (if already passed) not again.
func (d *DB) ListConversations(ctx context.Context, sessionID uuid.UUID, limit int, cursor string) ([]models.Conversation, string, error) {
	after, err := decodeCursor(cursor, "conversations")
	if err != nil {
		return nil, "", err
	}
	limit = min(max(limit, 1), 100)
	var list []models.Conversation
	err = d.read(ctx, func(g *gorm.DB) error {
		list = nil
		q := g.Where("session_id = ?", sessionID)
		if after != nil {
			q = q.Where("(updated_at, id) < (?, ?)", after.At, after.ID)
		}
		return q.Order("updated_at DESC, id DESC").Limit(limit + 1).Find(&list).Error
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		next = encodeCursor("conversations", last.UpdatedAt, last.ID)
	}
	return list, next, nil
}

// GetConversation returns a session's conversation with up to messageLimit
// of its messages: the latest, or with a cursor the ones before it, in
// chronological order. Another session's conversation is models.ErrNotFound.
func (d *DB) GetConversation(ctx context.Context, sessionID, id uuid.UUID, messageLimit int, cursor string) (models.ConversationPage, error) {
	before, err := decodeCursor(cursor, "messages")
	if err != nil {
		return models.ConversationPage{}, err
	}
	messageLimit = min(max(messageLimit, 1), 200)
	var page models.ConversationPage
	err = d.read(ctx, func(g *gorm.DB) error {
		page = models.ConversationPage{}
		if err := findOne(g.Where("id = ? AND session_id = ?", id, sessionID), &page.Conversation); err != nil {
			return err
		}
		q := g.Where("conversation_id = ? AND session_id = ?", id, sessionID)
		if before != nil {
			q = q.Where("(created_at, id) < (?, ?)", before.At, before.ID)
		}
		return q.Order("created_at DESC, id DESC").Limit(messageLimit + 1).Find(&page.Messages).Error
	})
	if err != nil {
		return models.ConversationPage{}, err
	}
	if len(page.Messages) > messageLimit {
		page.Messages = page.Messages[:messageLimit]
		oldest := page.Messages[messageLimit-1]
		page.OlderCursor = encodeCursor("messages", oldest.CreatedAt, oldest.ID)
	}
	slices.Reverse(page.Messages)
	return page, nil
}

// DeleteConversation deletes a session's conversation and its messages.
// Messages already counted against the session's quota stay counted.
func (d *DB) DeleteConversation(ctx context.Context, sessionID, id uuid.UUID) error {
	var tag pgconn.CommandTag
	err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		var err error
		tag, err = conn.Exec(ctx, `DELETE FROM conversations WHERE id = $1 AND session_id = $2`, id, sessionID)
		return err
	})
	if err != nil {
		return classify(err)
	}
	if tag.RowsAffected() == 0 {
		return models.ErrNotFound
	}
	return nil
}

// Defaults of IdempotencyRequest.
const (
	DefaultIdempotencyTTL   = 24 * time.Hour
	DefaultIdempotencyLease = 2 * time.Minute
	MaxIdempotencyKeyLength = 255
)

// MaxMessageLength bounds stored message content, in characters: far above
// what the API accepts from divers, it only guards the table.
const MaxMessageLength = 100_000

// AddUserMessage stores a diver's message in a session's conversation, under
// the session's quota, in one transaction sent as one pipelined batch
// (AdmitUserMessage's, without the turns):
//
//  1. the session row is locked (lockSQL, SELECT ... FOR NO KEY UPDATE), so
//     concurrent requests for one session, on any instance, run this one at
//     a time; a row lock ends with the transaction, so it is correct behind a
//     transaction pooler (session advisory locks are not);
//  2. one statement then (admitSQL) counts the session's accepted messages
//     in the rolling window and, if under the limit (and the key is new),
//     inserts the message, its quota entry and the key, and bumps the
//     conversation.
//
// At the limit it returns a *models.QuotaError (errors.Is models.ErrQuotaExceeded) and
// stores nothing. With idem set: the key of a completed request replays it;
// of one still running is models.ErrIdempotencyInFlight; of a failed one asks for
// regeneration (see UserMessageResult); with another request's fingerprint
// is models.ErrIdempotencyMismatch. Replays and regenerations are not charged.
func (d *DB) AddUserMessage(ctx context.Context, sessionID, conversationID uuid.UUID, content string, q models.Quota, idem *models.IdempotencyRequest) (models.UserMessageResult, error) {
	adm, err := d.admit(ctx, sessionID, conversationID, content, q, idem, 0, false)
	if err != nil {
		return models.UserMessageResult{}, err
	}
	return adm.UserMessageResult, nil
}

// admitSQL counts and, when allowed, inserts. It runs after the session
// lock, as its own statement, so its snapshot includes everything the
// previous lock holder committed. clock_timestamp() (not now(), the time the
// transaction began, before it waited for the lock) timestamps the message.
const admitSQL = `WITH clock AS (SELECT clock_timestamp() AS now),
used AS (
	SELECT count(*) AS n, min(q.created_at) AS oldest FROM message_quota q, clock
	 WHERE q.session_id = @session AND q.created_at > clock.now - make_interval(secs => @window)),
prior AS (
	SELECT k.fingerprint, k.conversation_id, k.state, k.lease_until, k.user_message_id, k.reply_message_id
	  FROM idempotency_keys k, clock
	 WHERE k.session_id = @session AND k.key = @key AND k.expires_at > clock.now),
accepted AS (SELECT clock.now FROM clock, used WHERE used.n < @limit AND NOT EXISTS (SELECT 1 FROM prior)
	-- The session must be live and own the conversation: in the pipelined
	-- batch this runs whatever the lock statement before it found (lockSQL
	-- reports both, read only once the batch is back), so it checks for itself.
	AND EXISTS (SELECT 1 FROM guest_sessions s WHERE s.id = @session AND s.expires_at > clock.now)
	AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = @conversation AND c.session_id = @session)),
msg AS (
	INSERT INTO messages (id, conversation_id, session_id, role, content, created_at)
	SELECT @id, @conversation, @session, 'user', @content, now FROM accepted
	RETURNING created_at),
counted AS (INSERT INTO message_quota (session_id, created_at) SELECT @session, created_at FROM msg),
bumped AS (UPDATE conversations SET updated_at = msg.created_at FROM msg WHERE conversations.id = @conversation),
keyed AS (
	INSERT INTO idempotency_keys (session_id, key, fingerprint, conversation_id, state, user_message_id,
		lease_until, created_at, expires_at)
	SELECT @session, @key, @fingerprint, @conversation, 'in_flight', @id, created_at + make_interval(secs => @lease),
		created_at, created_at + make_interval(secs => @ttl)
	  FROM msg WHERE @key <> ''
	-- an expired key not yet purged is reused
	ON CONFLICT (session_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
		conversation_id = EXCLUDED.conversation_id, state = EXCLUDED.state, user_message_id = EXCLUDED.user_message_id,
		reply_message_id = NULL, lease_until = EXCLUDED.lease_until, created_at = EXCLUDED.created_at,
		expires_at = EXCLUDED.expires_at)
SELECT clock.now, used.n, used.oldest, EXISTS (SELECT 1 FROM msg),
	prior.fingerprint, prior.conversation_id, prior.state, prior.lease_until, prior.user_message_id, prior.reply_message_id
  FROM clock CROSS JOIN used LEFT JOIN prior ON true`

type admission struct {
	now      time.Time
	used     int
	oldest   sql.NullTime
	inserted bool
	prior    struct {
		fingerprint, state sql.NullString
		conversation       uuid.NullUUID
		leaseUntil         sql.NullTime
		userMessage, reply uuid.NullUUID
	}
}

// rateLimit is the quota's state once added more messages are counted.
func (a admission) rateLimit(q models.Quota, added int) models.RateLimit {
	reset := q.Window // an empty window frees its first place a window after this message
	if a.oldest.Valid {
		reset = max(time.Second, a.oldest.Time.Add(q.Window).Sub(a.now))
	}
	return models.RateLimit{Limit: q.Limit, Remaining: max(0, q.Limit-a.used-added), Reset: reset}
}

// answer answers an admission that inserted nothing although the session
// is live and owns the conversation, from the batch's row: a refusal at the
// quota, or a key seen before (replay, conflict, or regenerate). It runs on
// the same connection right after the batch's COMMIT: what it reads or
// writes depends only on that row, and the regeneration takes the key over
// only if it is still in the state the batch read (compare-and-set), which
// is what the session lock guaranteed inside the transaction.
func (a admission) answer(ctx context.Context, conn *pgx.Conn, res *models.UserMessageResult, q models.Quota, sessionID, conversationID uuid.UUID, key models.IdempotencyRequest) error {
	if !a.prior.state.Valid {
		retry, err := oldestLeaves(ctx, conn, `SELECT created_at FROM message_quota
			WHERE session_id = $1 AND created_at > $2 ORDER BY created_at OFFSET $3 LIMIT 1`,
			sessionID, a.now, q.Window, a.used, q.Limit)
		if err != nil {
			return err
		}
		return &models.QuotaError{Limit: q.Limit, Window: q.Window, RetryAfter: retry}
	}
	p := a.prior
	if p.fingerprint.String != key.Fingerprint || p.conversation.UUID != conversationID {
		return models.ErrIdempotencyMismatch
	}
	res.RateLimit = a.rateLimit(q, 0)
	switch {
	case p.state.String == "done":
		rows, err := conn.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE id IN ($1, $2) AND session_id = $3`,
			p.userMessage.UUID, p.reply.UUID, sessionID)
		if err != nil {
			return err
		}
		msgs, err := pgx.CollectRows(rows, scanMessage)
		if err != nil {
			return err
		}
		for i := range msgs {
			if msgs[i].ID == p.reply.UUID {
				res.Reply = &msgs[i]
			} else {
				res.Message = msgs[i]
			}
		}
		if res.Reply == nil || res.Message.ID == uuid.Nil {
			return models.ErrNotFound // deleted with its conversation meanwhile
		}
		res.Replayed = true
		return nil
	case p.state.String == "in_flight" && p.leaseUntil.Time.After(a.now):
		return models.ErrIdempotencyInFlight
	}
	// failed, or in flight past its lease (the generating process died)
	tag, err := conn.Exec(ctx, `UPDATE idempotency_keys SET state = 'in_flight', lease_until = $1
		WHERE session_id = $2 AND key = $3 AND state = $4 AND lease_until = $5 AND user_message_id = $6`,
		a.now.Add(key.Lease), sessionID, key.Key, p.state.String, p.leaseUntil.Time, p.userMessage.UUID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return models.ErrIdempotencyInFlight // another request took it over first
	}
	res.Regenerate = true
	rows, err := conn.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = $1 AND session_id = $2`,
		p.userMessage.UUID, sessionID)
	if err != nil {
		return err
	}
	res.Message, err = pgx.CollectExactlyOneRow(rows, scanMessage)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.ErrNotFound
	}
	return err
}

// messageColumns are the columns of models.Message, in scanMessage's order.
const messageColumns = `id, conversation_id, session_id, role, content, citations, sites, constraints, model, created_at`

// scanMessage reads one row of messageColumns.
func scanMessage(row pgx.CollectableRow) (models.Message, error) {
	var m models.Message
	err := row.Scan(&m.ID, &m.ConversationID, &m.SessionID, &m.Role, &m.Content, &m.Citations, &m.Sites,
		&m.Constraints, &m.Model, &m.CreatedAt)
	return m, err
}

// AddAssistantMessage stores a reply in a session's conversation, saves the
// conversation's constraints, titles it if it has no title yet
// (r.Title) and completes the Idempotency-Key, in one statement. Another
// session's conversation is models.ErrNotFound.
func (d *DB) AddAssistantMessage(ctx context.Context, sessionID, conversationID uuid.UUID, r models.AssistantReply) (models.Message, error) {
	if err := checkText("content", r.Content, 1, MaxMessageLength); err != nil {
		return models.Message{}, err
	}
	msg := models.Message{ID: newID(), ConversationID: conversationID, SessionID: sessionID, Role: models.RoleAssistant,
		Content: r.Content, Citations: nonNil(r.Citations), Sites: nonNil(r.Sites), Constraints: r.Constraints, Model: r.Model}
	citations, _ := json.Marshal(msg.Citations)
	sites, _ := json.Marshal(msg.Sites)
	var constraints *string
	if len(r.Constraints) > 0 {
		if !json.Valid(r.Constraints) || !strings.HasPrefix(strings.TrimSpace(string(r.Constraints)), "{") {
			return models.Message{}, fmt.Errorf("%w: constraints must be a JSON object", models.ErrInvalid)
		}
		s := string(r.Constraints)
		constraints = &s
	} else {
		msg.Constraints = json.RawMessage(`{}`)
	}
	if checkText("title", r.Title, 0, MaxTitleLength) != nil {
		r.Title = "" // a title is never worth losing the reply: the conversation stays untitled
	}
	err := d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `WITH conv AS (
			UPDATE conversations SET updated_at = clock_timestamp(),
				constraints = coalesce(CAST(@constraints AS jsonb), constraints),
				title = CASE WHEN title = '' THEN @title ELSE title END
			 WHERE id = @conversation AND session_id = @session
			RETURNING id, constraints),
		msg AS (
			INSERT INTO messages (id, conversation_id, session_id, role, content, citations, sites, constraints, model, created_at)
			SELECT @id, conv.id, @session, 'assistant', @content, CAST(@citations AS jsonb), CAST(@sites AS jsonb),
				conv.constraints, @model, clock_timestamp()
			  FROM conv
			RETURNING id, created_at),
		done AS (
			UPDATE idempotency_keys k SET state = 'done', reply_message_id = msg.id
			  FROM msg
			 WHERE k.session_id = @session AND k.key = @key AND k.conversation_id = @conversation AND k.state <> 'done')
		SELECT created_at FROM msg`,
			pgx.NamedArgs{"constraints": constraints, "conversation": conversationID, "session": sessionID, "id": msg.ID,
				"content": r.Content, "citations": string(citations), "sites": string(sites), "model": r.Model,
				"key": r.IdempotencyKey, "title": r.Title},
		).Scan(&msg.CreatedAt)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Message{}, models.ErrNotFound
	}
	if err != nil {
		return models.Message{}, notFoundOnForeignKey(err)
	}
	return msg, nil
}

// FailIdempotencyKey records that generating the reply for key failed, so
// a retry with the key regenerates at once instead of waiting for the lease.
func (d *DB) FailIdempotencyKey(ctx context.Context, sessionID uuid.UUID, key string) error {
	return d.write(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `UPDATE idempotency_keys SET state = 'failed' WHERE session_id = $1 AND key = $2 AND state = 'in_flight'`,
			sessionID, key)
		return err
	})
}

// newID returns a time-ordered (version 7) UUID: ids of rows inserted one
// after another sort in that order, which keeps the (created_at, id) indexes
// append-mostly.
func newID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// checkText refuses what PostgreSQL would refuse (NUL bytes, invalid UTF-8)
// or a CHECK constraint would, naming the field.
func checkText(field, s string, minLen, maxLen int) error {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", models.ErrInvalid, field)
	case strings.ContainsRune(s, 0):
		return fmt.Errorf("%w: %s contains a NUL character", models.ErrInvalid, field)
	case n < minLen || (minLen > 0 && strings.TrimSpace(s) == ""):
		return fmt.Errorf("%w: %s is empty", models.ErrInvalid, field)
	case n > maxLen:
		return fmt.Errorf("%w: %s is %d characters, at most %d", models.ErrInvalid, field, n, maxLen)
	}
	return nil
}

// notFoundOnForeignKey maps a foreign-key violation (the session or
// conversation was deleted under the statement) to models.ErrNotFound.
func notFoundOnForeignKey(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return models.ErrNotFound
	}
	return classify(err)
}

// pageCursor is the keyset position of a page boundary. It is opaque to
// clients (base64 of JSON) but not secret: it only moves within the
// caller's own rows.
type pageCursor struct {
	Kind string    `json:"k"`
	At   int64     `json:"t"` // microseconds since the epoch: PostgreSQL's precision
	ID   uuid.UUID `json:"i"`
}

type cursorPosition struct {
	At time.Time
	ID uuid.UUID
}

func encodeCursor(kind string, at time.Time, id uuid.UUID) string {
	b, _ := json.Marshal(pageCursor{Kind: kind, At: at.UnixMicro(), ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns nil for "", and models.ErrInvalid for anything not made by
// encodeCursor for the same kind of list.
func decodeCursor(s, kind string) (*cursorPosition, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c pageCursor
	if err == nil && len(b) < 200 {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Kind != kind || c.ID == uuid.Nil {
		return nil, fmt.Errorf("%w: cursor is not one this list returned", models.ErrInvalid)
	}
	return &cursorPosition{At: time.UnixMicro(c.At).UTC(), ID: c.ID}, nil
}

// checkUserMessage checks a user message, its quota and its idempotency key,
// and returns the key with its defaults (the zero request when idem is nil).
func checkUserMessage(content string, q models.Quota, idem *models.IdempotencyRequest) (models.IdempotencyRequest, error) {
	if err := checkText("content", content, 1, MaxMessageLength); err != nil {
		return models.IdempotencyRequest{}, err
	}
	if q.Limit < 1 || q.Window <= 0 {
		return models.IdempotencyRequest{}, fmt.Errorf("%w: quota limit and window must be positive", models.ErrInvalid)
	}
	if q.Window > quotaRetention {
		return models.IdempotencyRequest{}, fmt.Errorf("%w: quota window is over %s, the purge's retention of quota entries", models.ErrInvalid, quotaRetention)
	}
	key := models.IdempotencyRequest{}
	if idem != nil {
		key = *idem
		if err := checkText("Idempotency-Key", key.Key, 1, MaxIdempotencyKeyLength); err != nil {
			return models.IdempotencyRequest{}, err
		}
		if key.Fingerprint == "" {
			return models.IdempotencyRequest{}, fmt.Errorf("%w: an idempotency key needs the request's fingerprint", models.ErrInvalid)
		}
		key.TTL = orDefault(key.TTL, DefaultIdempotencyTTL)
		key.Lease = orDefault(key.Lease, DefaultIdempotencyLease)
	}
	return key, nil
}

// newUserMessage is the row a user message is stored as.
func newUserMessage(sessionID, conversationID uuid.UUID, content string) models.Message {
	return models.Message{ID: newID(), ConversationID: conversationID, SessionID: sessionID, Role: models.RoleUser,
		Content: content, Citations: []models.Citation{}, Sites: []models.SiteSuggestion{}}
}

// admitArgs are admitSQL's named arguments.
func admitArgs(msg models.Message, q models.Quota, key models.IdempotencyRequest) pgx.NamedArgs {
	return pgx.NamedArgs{
		"session": msg.SessionID, "conversation": msg.ConversationID, "id": msg.ID, "content": msg.Content,
		"limit": q.Limit, "window": q.Window.Seconds(),
		"key": key.Key, "fingerprint": key.Fingerprint, "ttl": key.TTL.Seconds(), "lease": key.Lease.Seconds(),
	}
}

// dest are the scan targets of admitSQL's one row.
func (a *admission) dest() []any {
	return []any{&a.now, &a.used, &a.oldest, &a.inserted,
		&a.prior.fingerprint, &a.prior.conversation, &a.prior.state, &a.prior.leaseUntil,
		&a.prior.userMessage, &a.prior.reply}
}
