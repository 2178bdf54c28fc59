package geo

import (
	"syscall"
	"unsafe"
)

// adviseHugePages asks Linux to back the memory of a large slice with
// transparent huge pages (where the system allows them on request, the
// usual "madvise" setting). Point lookups over a million grids touch a few
// hundred megabytes at random; with 4 KiB pages nearly every touch also
// misses the TLB, with 2 MiB pages few do. Call it before the slice is
// filled so that its pages are faulted in as huge pages. Failure is
// harmless: the memory stays as it is.
func adviseHugePages[T any](s []T) {
	const huge = 2 << 20
	size := uintptr(cap(s)) * unsafe.Sizeof(*new(T))
	if size < 2*huge {
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(s[:1]))
	start := uintptr(base)
	lo := (start + huge - 1) &^ (huge - 1)
	hi := (start + size) &^ (huge - 1)
	if hi <= lo {
		return
	}
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(base, lo-start)), hi-lo), syscall.MADV_HUGEPAGE)
}
