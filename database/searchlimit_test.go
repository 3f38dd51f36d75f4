package database

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dovvydive/backend/models"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSearchLimiter_RejectsWithErrBusyWhenNoSlotFreesBeforeTheDeadline(t *testing.T) {
	l := newSearchLimiter(1)
	release, err := l.acquire(context.Background())
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = l.acquire(ctx)
	assert.ErrorIs(t, err, ErrBusy)
	assert.ErrorIs(t, err, models.ErrUnavailable, "answered like any overload: 503")
	assert.Equal(t, 1.0, testutil.ToFloat64(l.rejected))
	assert.Equal(t, 0.0, testutil.ToFloat64(l.queued), "no longer queued")

	release()
	again, err := l.acquire(context.Background())
	require.NoError(t, err, "the released slot is free again")
	again()
}

func TestSearchLimiter_AWaiterGetsTheSlotWhenItIsReleased(t *testing.T) {
	l := newSearchLimiter(1)
	release, err := l.acquire(context.Background())
	require.NoError(t, err)
	got := make(chan error, 1)
	go func() {
		r, err := l.acquire(context.Background())
		if err == nil {
			r()
		}
		got <- err
	}()
	require.Eventually(t, func() bool { return testutil.ToFloat64(l.queued) == 1 }, 2*time.Second, time.Millisecond)
	release()
	select {
	case err := <-got:
		assert.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("the waiter never got the slot")
	}
}

func TestSearchLimiter_ACallerThatGoesAwayIsNotCountedAsRejected(t *testing.T) {
	l := newSearchLimiter(1)
	release, err := l.acquire(context.Background())
	require.NoError(t, err)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = l.acquire(ctx)
	assert.True(t, errors.Is(err, context.Canceled))
	assert.False(t, errors.Is(err, ErrBusy))
	assert.Equal(t, 0.0, testutil.ToFloat64(l.rejected))
}

func TestEfSearchFor_GrowsWithTheCorpusUpToTheTestedMaximum(t *testing.T) {
	for _, c := range []struct {
		chunks int64
		want   int
	}{
		{0, 60}, {3_400, 60}, {100_000, 60}, {316_227, 155}, {1_000_000, 400}, {50_000_000, 400},
	} {
		assert.Equal(t, c.want, EfSearchFor(c.chunks), "%d chunks", c.chunks)
	}
}
