package cli

import "context"

// runKeys implements `nango keys`. Owned by the encryption work (issue 4).
func runKeys(ctx context.Context, o IO, args []string) error {
	return usagef("keys: not available yet")
}
