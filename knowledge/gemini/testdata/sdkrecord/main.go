// This program recorded testdata/sdk_*.json: the exact request bodies
// google.golang.org/genai v1.77.0 sent for the calls this service made
// through it (streamGenerateContent's body was identical to
// generateContent's). It lives under testdata so that the Go tool ignores it
// and the module no longer depends on the SDK. To run it again, copy it into
// a scratch module that requires google.golang.org/genai v1.77.0 and run
// `go run . OUTDIR`.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/genai"
)

func main() {
	out := os.Args[1]
	var name string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		os.WriteFile(filepath.Join(out, name+".json"), b, 0o644)
		os.WriteFile(filepath.Join(out, name+".path"), []byte(r.URL.Path+"?"+r.URL.RawQuery+"\n"), 0o644)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.URL.Path, "stream") {
			io.WriteString(w, "data: {}\n\n")
			return
		}
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	ctx := context.Background()
	c, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "k", Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL}})
	if err != nil {
		panic(err)
	}
	dims := int32(768)
	name = "sdk_batchEmbedContents"
	_, err = c.Models.EmbedContent(ctx, "gemini-embedding-001", []*genai.Content{
		genai.NewContentFromText("Hammerheads <at> dawn & dusk", genai.RoleUser),
		genai.NewContentFromText("诗巴丹 \"Sipadan\"\n", genai.RoleUser),
	}, &genai.EmbedContentConfig{TaskType: "RETRIEVAL_DOCUMENT", OutputDimensionality: &dims})
	fmt.Println("embed", err)

	contents := []*genai.Content{
		genai.NewContentFromText("Hi, I'm planning a trip.", genai.RoleUser),
		genai.NewContentFromText("Great, when are you going?", genai.RoleModel),
		genai.NewContentFromText("Hammerheads in April? <b>&</b>", genai.RoleUser),
	}
	temp := float32(0.3)
	no := false
	cfg := func() *genai.GenerateContentConfig {
		return &genai.GenerateContentConfig{
			SystemInstruction:     &genai.Content{Parts: []*genai.Part{{Text: "Answer in English.\nUse only the passages."}}},
			Temperature:           &temp,
			MaxOutputTokens:       1024,
			AutomaticContinuation: &no,
		}
	}
	name = "sdk_generateContent"
	_, err = c.Models.GenerateContent(ctx, "gemini-3.5-flash", contents, cfg())
	fmt.Println("generate", err)
	name = "sdk_streamGenerateContent"
	for _, err := range c.Models.GenerateContentStream(ctx, "gemini-3.5-flash", contents, cfg()) {
		fmt.Println("stream", err)
	}
}
