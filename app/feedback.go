package app

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/models"
)

// feedbackCommand is `dovvydive feedback list`: the replies divers rated,
// for whoever improves the planner (and `make feedback-down`). It prints
// conversation content, which the API never logs: run it on the operator's
// terminal, not into shared logs.
func feedbackCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "feedback", Short: "Review divers' ratings of the planner's replies"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List rated replies, most recently rated first: conversation, message, the question, the reply's first line, the comment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rating, _ := cmd.Flags().GetString("rating")
			limit, _ := cmd.Flags().GetInt("limit")
			if !models.Rating(rating).Valid() {
				return fmt.Errorf("--rating is %q, want up or down", rating)
			}
			if limit < 1 || limit > database.MaxRatedReplies {
				return fmt.Errorf("--limit is %d, want 1 to %d", limit, database.MaxRatedReplies)
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return withReadyDB(cmd, stderr, cfg, func(db *database.DB) error {
				replies, err := db.ListRatedReplies(cmd.Context(), rating, limit)
				if err != nil {
					return fmt.Errorf("feedback list: %w", err)
				}
				writeRatedReplies(stdout, rating, replies)
				return nil
			})
		},
	}
	list.Flags().String("rating", models.RatingDown, "which ratings: down or up")
	list.Flags().Int("limit", 50, fmt.Sprintf("at most this many replies (1 to %d)", database.MaxRatedReplies))
	cmd.AddCommand(list)
	return cmd
}

// writeRatedReplies prints one block per reply, each text on one line, so
// the list reads in a terminal and greps by id.
func writeRatedReplies(w io.Writer, rating string, replies []database.RatedReply) {
	fmt.Fprintf(w, "%d repl%s rated %s\n", len(replies), map[bool]string{true: "y", false: "ies"}[len(replies) == 1], rating)
	for _, r := range replies {
		fmt.Fprintf(w, "\nconversation %s  message %s  rated %s %s\n", r.ConversationID, r.MessageID, r.Rating,
			r.RatedAt.UTC().Format("2006-01-02 15:04:05Z"))
		fmt.Fprintf(w, "  question: %s\n", orNone(flatten(r.Question)))
		fmt.Fprintf(w, "  reply:    %s\n", orNone(firstLine(r.Reply)))
		fmt.Fprintf(w, "  comment:  %s\n", orNone(flatten(r.Comment)))
	}
}

// firstLine is the reply's first non-empty line.
func firstLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

// flatten writes a text on one line.
func flatten(s string) string { return strings.Join(strings.Fields(s), " ") }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
