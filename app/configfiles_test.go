package app

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/viper"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// config.yaml and .env.example are the copies of DefaultConfig a newcomer
// reads. Nothing else fails when they drift from the code, so these tests do.
const (
	configYAML = "../config.yaml"
	envExample = "../.env.example"
)

// envVarWord matches anything written like an environment variable:
// capitals with at least one underscore (APP_ENV, NEON_DATABASE_URL).
var envVarWord = regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b`)

func TestConfigYAML_MatchesTheCodeDefaultsKeyForKeyAndNamesEachEnvironmentVariable(t *testing.T) {
	// The file alone, through the loader's own decoding: no defaults under
	// it and no environment over it, so every value compared is the file's.
	v := viper.New()
	v.SetConfigFile(configYAML)
	require.NoError(t, v.ReadInConfig())
	fromFile, err := decode(v)
	require.NoError(t, err)

	want, have := keyValues(DefaultConfig()), keyValues(fromFile)
	for _, key := range sortedKeys(want) {
		switch {
		case !v.InConfig(key):
			t.Errorf("config.yaml: %s is missing; the code's default is %s", key, show(want[key]))
		case !sameValue(have[key], want[key]):
			t.Errorf("config.yaml: %s is %s, the code's default is %s", key, show(have[key]), show(want[key]))
		}
	}
	for _, key := range v.AllKeys() {
		if _, ok := want[key]; !ok {
			t.Errorf("config.yaml: %s is not a key of the code's Config", key)
		}
	}

	comments := yamlComments(t, configYAML)
	for _, key := range sortedKeys(envNames) {
		if _, ok := want[key]; !ok {
			t.Errorf("envNames: %s is not a key of the code's Config", key)
			continue
		}
		for _, name := range envNames[key] {
			if !names(comments[key], name) {
				t.Errorf("config.yaml: the comment of %s does not name %s, which sets it", key, name)
			}
		}
	}
	data, err := os.ReadFile(configYAML)
	require.NoError(t, err)
	for _, name := range unreadVariables(string(data)) {
		t.Errorf("config.yaml: names %s, which the code does not read", name)
	}
}

func TestEnvExample_NamesOnlyVariablesTheCodeReadsAndSetsOnlyDefaults(t *testing.T) {
	data, err := os.ReadFile(envExample)
	require.NoError(t, err)
	for _, name := range unreadVariables(string(data)) {
		t.Errorf(".env.example: names %s, which the code does not read", name)
	}
	for _, key := range sortedKeys(envNames) {
		for _, name := range envNames[key] {
			if !names(string(data), name) {
				t.Errorf(".env.example: does not name %s, which sets %s", name, key)
			}
		}
	}

	// Its uncommented lines are what a copy to .env sets. Were one not the
	// default, a default changed in the code would stay pinned to its old
	// value in every .env copied from the example.
	v := viper.New()
	setDefaults(v, "", reflect.ValueOf(DefaultConfig()))
	require.NoError(t, mergeDotEnv(v, envExample))
	fromFile, err := decode(v)
	require.NoError(t, err)
	want, have := keyValues(DefaultConfig()), keyValues(fromFile)
	for _, key := range sortedKeys(want) {
		if !sameValue(have[key], want[key]) {
			t.Errorf(".env.example: sets %s to %s, the code's default for %s is %s", EnvName(key), show(have[key]), key,
				show(want[key]))
		}
	}
}

// keyValues flattens c into its config keys and their values.
func keyValues(c Config) map[string]any {
	out := map[string]any{}
	eachKey("", reflect.ValueOf(c), func(key string, f reflect.Value) { out[key] = f.Interface() })
	return out
}

// unreadVariables lists the variables text names that no key is read from.
func unreadVariables(text string) []string {
	read := map[string]bool{}
	eachKey("", reflect.ValueOf(DefaultConfig()), func(key string, _ reflect.Value) {
		for _, name := range envNamesOf(key) {
			read[name] = true
		}
	})
	var out []string
	for _, name := range envVarWord.FindAllString(text, -1) {
		if !read[name] && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// names reports whether text names the variable as a whole word
// (DATABASE_URL is not named by NEON_DATABASE_URL).
func names(text, variable string) bool {
	return slices.Contains(envVarWord.FindAllString(text, -1), variable)
}

// yamlComments maps each key of the YAML file at path to the comments
// around it: the lines above it and the one beside it.
func yamlComments(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	out := map[string]string{}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
			walk(prefix, n.Content[0])
			return
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + key
			}
			out[key] = strings.Join([]string{k.HeadComment, k.LineComment, val.LineComment}, "\n")
			walk(key, val)
		}
	}
	walk("", &doc)
	return out
}

// sameValue is reflect.DeepEqual, except that a nil list and an empty one
// are the same setting.
func sameValue(a, b any) bool {
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Kind() == reflect.Slice && rb.Kind() == reflect.Slice && ra.Len() == 0 && rb.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%v", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
