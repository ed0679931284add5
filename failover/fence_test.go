package failover_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/failover"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// stopOnly is a providers.Instances whose StopInstance answers from a
// script; any other method would panic (the fencer must not call them).
type stopOnly struct {
	providers.Instances
	errs  []error
	calls []providers.InstanceRef
}

func (s *stopOnly) StopInstance(ctx context.Context, ref providers.InstanceRef) error {
	s.calls = append(s.calls, ref)
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

func TestInstanceFencer(t *testing.T) {
	ref := &providers.InstanceRef{Region: "europe-west3", Zone: "europe-west3-a", Name: "db-a"}
	node := failover.Node{Name: "db-a", DSN: "host=10.0.0.2", Instance: ref}
	pol := retry.Policy{Clock: clock.NewAutoFake(time.Unix(0, 0)), Jitter: func() float64 { return 0 }}
	tests := []struct {
		name     string
		node     failover.Node
		errs     []error
		wantCode providers.ErrorCode
		calls    int
	}{
		{"stops the instance", node, nil, providers.OK, 1},
		{"retries transient errors", node, []error{providers.Errorf(providers.Unavailable, "503"), providers.Errorf(providers.ResourceExhausted, "429")}, providers.OK, 3},
		{"a vanished instance counts as fenced", node, []error{providers.Errorf(providers.NotFound, "gone")}, providers.OK, 1},
		{"permanent errors are not retried", node, []error{providers.Errorf(providers.PermissionDenied, "no")}, providers.PermissionDenied, 1},
		{"node without instance", failover.Node{Name: "db-b"}, nil, providers.InvalidArgument, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &stopOnly{errs: tt.errs}
			f := &failover.InstanceFencer{Instances: api, Retry: pol}
			err := f.Fence(context.Background(), tt.node)
			assert.Equal(t, tt.wantCode, providers.Code(err), "err: %v", err)
			require.Len(t, api.calls, tt.calls)
			for _, c := range api.calls {
				assert.Equal(t, *ref, c)
			}
		})
	}
	var nilFencer *failover.InstanceFencer
	assert.ErrorIs(t, nilFencer.Fence(context.Background(), node), providers.ErrInvalidArgument)
}
