package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"
)

// bindJSON decodes the request body into dst (a struct with `json` and
// `validate` tags). An empty body leaves dst's defaults. Malformed JSON,
// unknown fields, wrong types and trailing data are 400s naming the field;
// a body over the limit is a 413.
func bindJSON(c *gin.Context, dst any) *APIError {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &APIError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Field: "body",
				Message: "body: too large"}
		}
		return &APIError{Status: http.StatusBadRequest, Code: "invalid_body", Field: "body", Message: "body: could not be read"}
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if ct := c.ContentType(); ct != "application/json" {
			return &APIError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "Content-Type",
				Message: "Content-Type: must be application/json"}
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst); err != nil {
			return jsonError(err)
		}
		if dec.More() {
			return &APIError{Status: http.StatusBadRequest, Code: "invalid_body", Field: "body", Message: "body: must hold one JSON object"}
		}
	}
	if err := validate.Struct(dst); err != nil {
		var verrs validator.ValidationErrors
		if errors.As(err, &verrs) && len(verrs) > 0 {
			return invalidField(verrs[0].Field(), ruleMessage(verrs[0]))
		}
		return &APIError{Status: http.StatusBadRequest, Code: "invalid_body", Field: "body", Message: "body: invalid"}
	}
	return nil
}

func invalidField(field, why string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: "invalid_field", Field: field, Message: field + ": " + why}
}

func jsonError(err error) *APIError {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return invalidField(typeErr.Field, "must be a "+typeErr.Type.String())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalidField(field, "unknown field")
	}
	return &APIError{Status: http.StatusBadRequest, Code: "invalid_body", Field: "body", Message: "body: must be a JSON object"}
}
