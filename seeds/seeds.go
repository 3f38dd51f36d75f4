// Package seeds loads the development data set: the dive operators here and
// the dive-site corpus in package data, through the same ingestion pipeline
// as `ingest`. Ids are derived from slugs and unchanged files are skipped, so
// a second run changes nothing.
package seeds

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/dovvydive/backend/data"
	"github.com/dovvydive/backend/knowledge"
	"github.com/dovvydive/backend/knowledge/embedding"
	"github.com/dovvydive/backend/models"
)

//go:embed operators.json
var operatorsJSON []byte

// Operators decodes the embedded operators.
func Operators() ([]models.DiveOperator, error) {
	var operators []models.DiveOperator
	if err := json.Unmarshal(operatorsJSON, &operators); err != nil {
		return nil, fmt.Errorf("decode operators: %w", err)
	}
	for i := range operators {
		operators[i].ID = models.OperatorID(operators[i].Slug)
	}
	return operators, nil
}

// Sites parses every file of the embedded dive-site corpus, in file-name
// order, so tests and tools see exactly what seeding would load.
func Sites() ([]knowledge.Document, error) {
	names, err := fs.Glob(data.Sites(), "*.md")
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	docs := make([]knowledge.Document, 0, len(names))
	for _, name := range names {
		raw, err := fs.ReadFile(data.Sites(), name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		doc, err := knowledge.ParseDocument(name, raw)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// Result counts what Load changed.
type Result struct {
	Operators int64
	Sites     knowledge.Summary
}

// Load writes the operators, then ingests the dive-site corpus with emb.
func Load(ctx context.Context, db knowledge.Store, emb embedding.Embedder) (Result, error) {
	operators, err := Operators()
	if err != nil {
		return Result{}, err
	}
	res, err := db.UpsertDiveData(ctx, operators, nil)
	if err != nil {
		return Result{}, fmt.Errorf("seed operators: %w", err)
	}
	sum, err := knowledge.Ingest(ctx, data.Sites(), db, emb, knowledge.Options{})
	if err != nil {
		return Result{}, fmt.Errorf("seed sites: %w", err)
	}
	if sum.Failed > 0 {
		return Result{}, fmt.Errorf("seed sites: %d file(s) failed, first: %w", sum.Failed, sum.Problems[0])
	}
	return Result{Operators: res.Operators, Sites: sum}, nil
}
