package gemini

// The request and response bodies, with the REST API's field names. Only
// the fields this service uses are declared; the server's others are
// ignored. Request fields are declared in alphabetical order of their JSON
// names because the SDK encoded maps, whose keys encoding/json sorts: the
// bodies stay byte-identical to what it sent.

// Roles of a Content.
const (
	RoleUser  = "user"
	RoleModel = "model"
)

// Content is one turn of a conversation, or a text to embed.
type Content struct {
	Parts []Part `json:"parts,omitempty"`
	Role  string `json:"role,omitempty"`
}

// Part is a piece of a Content. Only text is used.
type Part struct {
	Text string `json:"text,omitempty"`
	// Thought marks a thinking model's reasoning, which is not the answer.
	Thought bool `json:"thought,omitempty"`
}

// NewTextContent returns a Content of one text part.
func NewTextContent(role, text string) Content {
	return Content{Parts: []Part{{Text: text}}, Role: role}
}

// EmbedContentRequest is one text of a batchEmbedContents call.
type EmbedContentRequest struct {
	Content Content `json:"content"`
	// Model is the model's resource name; BatchEmbedContents sets it.
	Model string `json:"model"`
	// OutputDimensionality truncates the vector (0: the model's full size).
	OutputDimensionality int32 `json:"outputDimensionality,omitempty"`
	// TaskType is e.g. RETRIEVAL_DOCUMENT or RETRIEVAL_QUERY.
	TaskType string `json:"taskType,omitempty"`
}

type batchEmbedContentsRequest struct {
	Requests []EmbedContentRequest `json:"requests"`
}

// BatchEmbedContentsResponse holds one embedding per request, in order.
type BatchEmbedContentsResponse struct {
	Embeddings []*ContentEmbedding `json:"embeddings"`
}

// ContentEmbedding is one vector.
type ContentEmbedding struct {
	Values []float32 `json:"values"`
}

// GenerateContentRequest is the body of generateContent and
// streamGenerateContent.
type GenerateContentRequest struct {
	Contents          []Content         `json:"contents"`
	GenerationConfig  *GenerationConfig `json:"generationConfig,omitempty"`
	SystemInstruction *Content          `json:"systemInstruction,omitempty"`
}

// GenerationConfig bounds and tunes the answer.
type GenerationConfig struct {
	MaxOutputTokens int32    `json:"maxOutputTokens,omitempty"`
	Temperature     *float32 `json:"temperature,omitempty"` // a pointer: 0 is a valid temperature
}

// GenerateContentResponse is an answer, or one event of a streamed answer.
type GenerateContentResponse struct {
	Candidates     []*Candidate    `json:"candidates"`
	PromptFeedback *PromptFeedback `json:"promptFeedback"`
}

// Candidate is one proposed answer; only the first is asked for.
type Candidate struct {
	Content      *Content     `json:"content"`
	FinishReason FinishReason `json:"finishReason"`
}

// FinishReason says why a candidate stopped.
type FinishReason string

// The finish reasons that mean a safety or policy stop.
const (
	FinishReasonSafety            FinishReason = "SAFETY"
	FinishReasonProhibitedContent FinishReason = "PROHIBITED_CONTENT"
	FinishReasonBlocklist         FinishReason = "BLOCKLIST"
	FinishReasonSPII              FinishReason = "SPII"
	FinishReasonRecitation        FinishReason = "RECITATION"
)

// PromptFeedback reports a prompt that was blocked before any answer.
type PromptFeedback struct {
	BlockReason BlockReason `json:"blockReason"`
}

// BlockReason says why a prompt was blocked.
type BlockReason string

// BlockReasonUnspecified is the API's "no reason given", not a block.
const BlockReasonUnspecified BlockReason = "BLOCKED_REASON_UNSPECIFIED"
