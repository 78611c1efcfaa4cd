package tracking

import (
	"crypto/sha256"
	"encoding/binary"
)

// Pick chooses one of len(weights) variants for sticky (the recipient and
// the template key): weighted, and the same every time for the same
// sticky and weights, so a customer always sees the same variant. A
// weight below or at 0 counts as 1.
func Pick(weights []float64, sticky string) int {
	if len(weights) <= 1 {
		return 0
	}
	total := 0.0
	for _, w := range weights {
		total += weightOf(w)
	}
	sum := sha256.Sum256([]byte("pbnotify.variant\x00" + sticky))
	// 53 bits: exactly representable as a float64 fraction in [0, 1).
	u := float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
	at := u * total
	for i, w := range weights {
		at -= weightOf(w)
		if at < 0 {
			return i
		}
	}
	return len(weights) - 1
}

func weightOf(w float64) float64 {
	if w <= 0 {
		return 1
	}
	return w
}
