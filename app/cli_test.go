package app

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIngest_AMissingFolderFailsBeforeTouchingTheDatabase(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cmd := NewCommand(&stdout, &stderr)
	cmd.SetArgs([]string{"ingest", t.TempDir() + "/no-such-folder"})
	err := cmd.Execute()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no-such-folder is not a directory")
	assert.NotContains(t, stdout.String(), "ingested", "nothing was ingested, not zero files successfully")
}

func TestVersion_PrintsTheBuildVersion(t *testing.T) {
	old := Version
	Version = "v9.9.9-test"
	t.Cleanup(func() { Version = old })
	var stdout bytes.Buffer
	cmd := NewCommand(&stdout, &bytes.Buffer{})
	cmd.SetArgs([]string{"version"})
	require.NoError(t, cmd.Execute())
	assert.Regexp(t, `^dovvydive v9\.9\.9-test .*go1\.`, stdout.String())
}
