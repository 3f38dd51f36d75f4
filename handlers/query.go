package handlers

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"
	"github.com/google/uuid"
)

var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		if name := f.Tag.Get("form"); name != "" {
			return name
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return name
	})
	return v
}()

var uuidType = reflect.TypeOf(uuid.UUID{})

// bindQuery fills dst (a pointer to a struct with `form` tags) from the query
// string, then checks its `validate` rules. Unknown, repeated, empty or
// malformed parameters are rejected with an error naming the parameter, so a
// typo never silently widens a filter.
func bindQuery(c *gin.Context, dst any) *APIError {
	values := c.Request.URL.Query()
	if c.Request.URL.RawQuery != "" {
		if _, err := url.ParseQuery(c.Request.URL.RawQuery); err != nil {
			return &APIError{Status: 400, Code: "invalid_parameter", Message: "malformed query string"}
		}
	}
	rv := reflect.ValueOf(dst).Elem()
	fields := map[string]reflect.Value{}
	for i := range rv.NumField() {
		if name := rv.Type().Field(i).Tag.Get("form"); name != "" {
			fields[name] = rv.Field(i)
		}
	}
	for name, vals := range values {
		f, ok := fields[name]
		if !ok {
			return invalidParam(name, "unknown parameter")
		}
		if len(vals) > 1 {
			return invalidParam(name, "must be given once")
		}
		if err := setField(f, vals[0]); err != nil {
			return invalidParam(name, err.Error())
		}
	}
	if err := validate.Struct(dst); err != nil {
		var verrs validator.ValidationErrors
		if errors.As(err, &verrs) && len(verrs) > 0 {
			return invalidParam(verrs[0].Field(), ruleMessage(verrs[0]))
		}
		return &APIError{Status: 400, Code: "invalid_parameter", Message: "invalid parameters"}
	}
	return nil
}

func setField(f reflect.Value, raw string) error {
	if strings.TrimSpace(raw) == "" {
		return errors.New("must not be empty")
	}
	if !utf8.ValidString(raw) || strings.ContainsFunc(raw, unicode.IsControl) {
		return errors.New("must be printable UTF-8 text")
	}
	if f.Kind() == reflect.Pointer {
		f.Set(reflect.New(f.Type().Elem()))
		f = f.Elem()
	}
	switch {
	case f.Type() == uuidType:
		id, err := uuid.Parse(raw)
		if err != nil {
			return errors.New("must be a UUID")
		}
		f.Set(reflect.ValueOf(id))
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return errors.New("must be an integer")
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.String:
		f.SetString(raw)
	default:
		return fmt.Errorf("unsupported parameter type %s", f.Type())
	}
	return nil
}

func ruleMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "min":
		if fe.Kind() == reflect.String {
			return "must be at least " + fe.Param() + " characters"
		}
		return "must be at least " + fe.Param()
	case "max":
		if fe.Kind() == reflect.String {
			return "must be at most " + fe.Param() + " characters"
		}
		return "must be at most " + fe.Param()
	case "oneof":
		return "must be one of " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "required":
		return "required"
	}
	return "is invalid"
}

// pathUUID parses the path parameter name as a UUID.
func pathUUID(c *gin.Context, name string) (uuid.UUID, *APIError) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, invalidParam(name, "must be a UUID")
	}
	return id, nil
}

// Page is the pagination block of a list response.
type Page struct {
	Limit      int   `json:"limit"`
	Offset     int   `json:"offset"`
	Total      int64 `json:"total"`
	NextOffset *int  `json:"nextOffset"` // null on the last page
}

func newPage(limit, offset int, total int64) Page {
	p := Page{Limit: limit, Offset: offset, Total: total}
	if next := offset + limit; int64(next) < total {
		p.NextOffset = &next
	}
	return p
}
