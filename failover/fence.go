package failover

import (
	"context"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// Fencer stops a node that must not serve as a primary any more, typically
// by powering off its machine. It is called for every fenced old primary,
// reachable or not; it must be idempotent.
type Fencer interface {
	Fence(ctx context.Context, node Node) error
}

// FencerFunc adapts a function to Fencer.
type FencerFunc func(ctx context.Context, node Node) error

// Fence implements Fencer.
func (f FencerFunc) Fence(ctx context.Context, node Node) error { return f(ctx, node) }

// InstanceFencer fences a node by stopping its cloud instance
// (Node.Instance) through the provider, retrying transient errors.
type InstanceFencer struct {
	Instances providers.Instances
	// Retry is the retry policy (zero value: the retry package defaults,
	// or a single attempt when the provider retries transient errors
	// itself, see providers.SelfRetrying).
	Retry retry.Policy
}

// Fence implements Fencer. A node without Instance returns InvalidArgument;
// an instance that no longer exists counts as fenced.
func (f *InstanceFencer) Fence(ctx context.Context, node Node) error {
	if f == nil || f.Instances == nil {
		return providers.Errorf(providers.InvalidArgument, "failover: InstanceFencer.Instances must be set")
	}
	if node.Instance == nil {
		return providers.Errorf(providers.InvalidArgument, "failover: node %s has no Instance to stop", node.Name)
	}
	ref := *node.Instance
	pol := f.Retry
	if pol.MaxAttempts == 0 && providers.RetriesItself(f.Instances) {
		pol.MaxAttempts = 1
	}
	err := retry.Do(ctx, pol, func(ctx context.Context) error {
		return f.Instances.StopInstance(ctx, ref)
	})
	if providers.Code(err) == providers.NotFound {
		return nil
	}
	return err
}

// Rejoiner turns a former primary into a standby of the current primary,
// on the node's host (pg_rewind, or a fresh pg_basebackup clone, then start
// with standby.signal and a primary_conninfo naming the node as
// application_name). The Controller verifies the result.
type Rejoiner interface {
	Rejoin(ctx context.Context, node Node, primary Node) error
}

// RejoinerFunc adapts a function to Rejoiner.
type RejoinerFunc func(ctx context.Context, node Node, primary Node) error

// Rejoin implements Rejoiner.
func (f RejoinerFunc) Rejoin(ctx context.Context, node Node, primary Node) error {
	return f(ctx, node, primary)
}
