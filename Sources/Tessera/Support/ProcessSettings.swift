/// Settings for the whole process that a program running Tessera may opt into; Tessera
/// itself never makes them. The `tessera` command makes both at start-up.
public enum ProcessSettings {
    /// On a machine with two cores, pins the calling thread to one and OpenBLAS's threads
    /// and Tessera's parallel workers to the other, so that the two never queue behind each
    /// other (see `CorePinning`); elsewhere does nothing. For a program whose computing
    /// happens on the calling thread; threads that this thread starts afterwards inherit
    /// its core.
    public static func pinToCores() {
        CorePinning.pinCallingThread()
    }

    /// Keeps large blocks that are not tensors (index arrays, batches being made) in
    /// glibc's heap, reused there instead of each getting a fresh, page-faulting `mmap`
    /// and being returned at once (glibc's `M_MMAP_THRESHOLD` and `M_TRIM_THRESHOLD` at
    /// 1 GiB). Tensor buffers have a pool of their own either way.
    public static func keepLargeBlocksInHeap() {
        _ = glibcMallopt(-3, 1 << 30)  // M_MMAP_THRESHOLD
        _ = glibcMallopt(-1, 1 << 30)  // M_TRIM_THRESHOLD
    }
}

@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
