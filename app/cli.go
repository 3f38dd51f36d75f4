package app

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/dovvydive/backend/database"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/seeds"
)

// NewCommand returns the dovvydive command line. Output goes to stdout;
// logs go to stderr.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "dovvydive",
		Short:         "DovvyDive backend: dive-trip planner API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().String("config", "./config.yaml", "path to config.yaml")

	root.AddCommand(serveCommand(stderr), migrateCommand(stdout, stderr), seedCommand(stdout, stderr),
		ingestCommand(stdout, stderr), purgeCommand(stdout, stderr), configCommand(stdout), versionCommand(stdout))
	root.AddCommand(feedbackCommand(stdout, stderr)) // issue 18: app/feedback.go
	return root
}

// loadConfig reads the configuration for cmd, with its flags on top.
func loadConfig(cmd *cobra.Command) (Config, error) {
	path, _ := cmd.Flags().GetString("config")
	return Load(LoadOptions{
		ConfigFile: path,
		Explicit:   cmd.Flags().Changed("config"),
		DotEnv:     ".env",
		Flags:      cmd.Flags(),
	})
}

func serveCommand(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the HTTP API (applies pending migrations first unless disabled)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			log, access, flush := newServeLoggers(cfg.App, stderr)
			defer func() { _ = flush() }()
			log.Info("config", configLogAttrs(cfg)...)
			for _, w := range cfg.Database.Warnings() {
				log.Warn("config: " + w)
			}
			if cfg.Session.Ephemeral {
				log.Warn("SESSION_SECRET is not set: using a random one for this process; sessions will not survive a restart")
			}
			return Serve(cmd.Context(), cfg, log, access)
		},
	}
	cmd.Flags().Int("port", 0, "HTTP port (overrides BACKEND_PORT)")
	cmd.Flags().Bool("auto-migrate", true, "apply pending migrations at startup")
	cmd.Flags().Bool("seed", false, "load development data at startup")
	return cmd
}

func migrateCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Apply, roll back or inspect schema migrations"}
	withMigrator := func(run func(*cobra.Command, *database.Migrator) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			m, err := database.NewMigrator(cmd.Context(), cfg.Database, NewLogger(cfg.App, stderr))
			if err != nil {
				return err
			}
			defer m.Close()
			return run(cmd, m)
		}
	}
	cmd.AddCommand(
		&cobra.Command{Use: "up", Short: "Apply every pending migration", Args: cobra.NoArgs,
			RunE: withMigrator(func(cmd *cobra.Command, m *database.Migrator) error {
				n, err := m.Up(cmd.Context())
				if err != nil {
					return err
				}
				v, err := m.Version(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "applied %d migration(s); version %d\n", n, v)
				return nil
			})},
		&cobra.Command{Use: "down", Short: "Roll back the most recent migration", Args: cobra.NoArgs,
			RunE: withMigrator(func(cmd *cobra.Command, m *database.Migrator) error {
				if err := m.Down(cmd.Context()); err != nil {
					return err
				}
				v, err := m.Version(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "rolled back; version %d\n", v)
				return nil
			})},
		&cobra.Command{Use: "status", Short: "List migrations and whether each is applied", Args: cobra.NoArgs,
			RunE: withMigrator(func(cmd *cobra.Command, m *database.Migrator) error {
				states, err := m.Status(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED")
				for _, s := range states {
					at := "pending"
					if s.Applied {
						at = s.At
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, s.Name, at)
				}
				return tw.Flush()
			})},
		&cobra.Command{Use: "version", Short: "Print the database's migration version", Args: cobra.NoArgs,
			RunE: withMigrator(func(cmd *cobra.Command, m *database.Migrator) error {
				v, err := m.Version(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintln(stdout, v)
				return nil
			})},
	)
	create := &cobra.Command{Use: "create NAME", Short: "Write a new SQL migration into migrations/", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, _ := cmd.Flags().GetString("dir")
			path, err := database.CreateMigration(dir, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, path)
			return nil
		}}
	create.Flags().String("dir", "migrations", "folder to write the migration into")
	cmd.AddCommand(create)
	return cmd
}

func seedCommand(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "seed",
		Short: "Load development data (operators, and the dive-site corpus through ingestion); safe to repeat",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withKnowledge(cmd, stderr, func(db *database.DB, emb embedding.Embedder) error {
				res, err := seeds.Load(cmd.Context(), db, emb)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "seeded: %d operator(s) inserted or changed; sites: %d loaded, %d unchanged, %d chunk(s) written\n",
					res.Operators, res.Sites.Loaded, res.Sites.Unchanged, res.Sites.Chunks)
				return nil
			})
		},
	}
}

func ingestCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ingest DIR",
		Short: "Load dive-site markdown files from DIR: upsert sites, chunk, embed and store; unchanged files are skipped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A mistyped folder must fail, not "ingest 0 files" successfully.
			if fi, err := os.Stat(args[0]); err != nil || !fi.IsDir() {
				return fmt.Errorf("ingest: %s is not a directory", args[0])
			}
			reembed, _ := cmd.Flags().GetBool("reembed")
			return withKnowledge(cmd, stderr, func(db *database.DB, emb embedding.Embedder) error {
				interactive := false
				if f, ok := stderr.(*os.File); ok {
					if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
						interactive = true
					}
				}
				sum, err := knowledge.Ingest(cmd.Context(), os.DirFS(args[0]), db, emb,
					knowledge.Options{Reembed: reembed, Progress: stderr, Interactive: interactive})
				for _, p := range sum.Problems {
					fmt.Fprintf(stderr, "skipped %s\n", p)
				}
				fmt.Fprintf(stdout, "ingested %d file(s): %d loaded, %d unchanged, %d failed; %d chunk(s) written with %s\n",
					sum.Files, sum.Loaded, sum.Unchanged, sum.Failed, sum.Chunks, emb.Model())
				if err != nil {
					return err
				}
				if sum.Failed > 0 {
					return fmt.Errorf("ingest: %d file(s) failed", sum.Failed)
				}
				return nil
			})
		},
	}
	cmd.Flags().Bool("reembed", false, "embed every file again, as after changing the embedding model")
	return cmd
}

// withKnowledge opens the database (which must be migrated) and the
// configured embedder. Re-embedding is the one case where stored vectors may
// come from another model.
func withKnowledge(cmd *cobra.Command, stderr io.Writer, run func(*database.DB, embedding.Embedder) error) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	emb, err := cfg.NewEmbedder(cmd.Context())
	if err != nil {
		return err
	}
	return withReadyDB(cmd, stderr, cfg, func(db *database.DB) error {
		if reembed, _ := cmd.Flags().GetBool("reembed"); !reembed {
			if err := db.CheckEmbeddingModel(cmd.Context(), emb.Model()); err != nil {
				return err
			}
		}
		return run(db, emb)
	})
}

// withReadyDB opens the database for a command that needs it migrated.
func withReadyDB(cmd *cobra.Command, stderr io.Writer, cfg Config, run func(*database.DB) error) error {
	db, err := database.Open(cmd.Context(), cfg.Database, NewLogger(cfg.App, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Ready(cmd.Context()); err != nil {
		return fmt.Errorf("%s: %w (run `migrate up` first)", cmd.Name(), err)
	}
	return run(db)
}

func purgeCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Delete expired guest sessions with their conversations, and expired idempotency keys; safe to run on several hosts at once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			batch, _ := cmd.Flags().GetInt("batch")
			if batch < 1 || batch > database.MaxPurgeBatch {
				return fmt.Errorf("--batch is %d, want 1 to %d", batch, database.MaxPurgeBatch)
			}
			return withReadyDB(cmd, stderr, cfg, func(db *database.DB) error {
				res, err := db.PurgeExpired(cmd.Context(), batch)
				fmt.Fprintf(stdout, "purged: %d session(s), %d conversation(s), %d message(s), %d idempotency key(s), %d quota entries, %d session-creation record(s)\n",
					res.Sessions, res.Conversations, res.Messages, res.IdempotencyKeys, res.QuotaEntries, res.SessionCreations)
				return err
			})
		},
	}
	cmd.Flags().Int("batch", database.MaxPurgeBatch, "rows deleted per statement (1 to 1000)")
	return cmd
}

func configCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration, secrets masked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			out, err := yaml.Marshal(cfg.Masked())
			if err != nil {
				return fmt.Errorf("encode config: %w", err)
			}
			_, err = stdout.Write(out)
			return err
		},
	}
}

// Masked returns the configuration as a config.yaml-shaped map with every
// secret and DSN password masked.
func (c Config) Masked() map[string]any {
	m := toMap(reflect.ValueOf(c))
	db := m["database"].(map[string]any)
	for _, k := range []string{"url", "neon_url", "neon_direct_url", "read_url", "neon_read_url"} {
		if s, _ := db[k].(string); s != "" {
			db[k] = database.Redact(s)
		}
	}
	if c.Embedding.GeminiAPIKey != "" {
		m["embedding"].(map[string]any)["gemini_api_key"] = "********"
	}
	session := m["session"].(map[string]any)
	switch {
	case c.Session.Ephemeral:
		session["secret"] = "(random, generated for this process)"
	case c.Session.Secret != "":
		session["secret"] = "********"
	}
	return m
}

func toMap(v reflect.Value) map[string]any {
	out := map[string]any{}
	for i := range v.NumField() {
		tag := v.Type().Field(i).Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		f := v.Field(i)
		switch {
		case f.Type() == reflect.TypeOf(time.Duration(0)):
			out[tag] = f.Interface().(time.Duration).String()
		case f.Kind() == reflect.Struct:
			out[tag] = toMap(f)
		default:
			out[tag] = f.Interface()
		}
	}
	return out
}

// configLogAttrs is the effective configuration for the startup log line.
func configLogAttrs(c Config) []any {
	m := c.Masked()
	var attrs []any
	for _, section := range []string{"app", "server", "database", "seed", "embedding", "search"} {
		attrs = append(attrs, section, m[section])
	}
	return attrs
}

// OneLine flattens an error to the single line the CLI prints on failure.
func OneLine(err error) string {
	if err == nil {
		return ""
	}
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(err.Error()), "\n") {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(strings.TrimSpace(line))
	}
	return b.String()
}

// Version is the release, set at build time with
// -ldflags "-X github.com/dovvydive/backend/app.Version=v1.2.3" (make build
// does); empty, the module version from the build information is used.
var Version = ""

// BuildVersion describes this binary: version, commit and build time, from
// -ldflags and the build information Go records.
func BuildVersion() string {
	version, commit, built, dirty := Version, "", "", ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if version == "" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = " commit " + s.Value
			case "vcs.time":
				built = " built " + s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = " (modified)"
				}
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	return fmt.Sprintf("dovvydive %s%s%s%s %s", version, commit, dirty, built, runtime.Version())
}

func versionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version, commit and Go version of this binary", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(stdout, BuildVersion())
			return err
		},
	}
}
