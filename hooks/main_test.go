package hooks_test

import (
	"testing"

	"github.com/pbnotify/pbnotify/internal/shoptest"
)

// TestMain starts every shop from one migrated data dir.
func TestMain(m *testing.M) { shoptest.Main(m) }
