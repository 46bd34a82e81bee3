import Glibc
import Synchronization

/// Keeps freed large tensor buffers and hands them out again for requests of the same
/// size: a caching allocator, as deep-learning frameworks use.
///
/// A training step allocates the same sizes in the same order every time, so from the
/// second step on almost every activation and gradient reuses a buffer of the previous
/// step: no page faults, no zeroing by the kernel. Buffers come from their own `mmap`s,
/// which unlike glibc's shared heap never fragment.
///
/// The pool's footprint (buffers in use plus cached) is kept within a limit: 1/16 above
/// the most bytes ever in use at once, or `minimumCacheBytes` if that is more. A request
/// that would map memory beyond it first unmaps cached buffers, about as many bytes as it
/// exceeds the limit by. Without the limit a step's peak would also hold cached buffers
/// that the step needs only later (the deep layers' weight gradients); with it, those are
/// mapped again when needed, at the cost of page faults (docs/performance.md).
package final class BufferPool: Sendable {
    /// The process-wide pool that ``TensorStorage`` uses.
    package static let shared = BufferPool()

    /// Buffers below this many bytes come from `malloc` directly.
    static let smallestPooledBytes = 1 << 16

    private struct State {
        /// Addresses of free buffers by byte count (as integers, which cross threads freely).
        var freeBuffers: [Int: [UInt]] = [:]
        var cachedBytes = 0
        var bytesInUse = 0
        var peakBytesInUse = 0
        var peakFootprint = 0
    }

    private let state = Mutex(State())
    private let minimumCacheBytes: Int

    /// A pool whose footprint limit is never below `minimumCacheBytes`.
    package init(minimumCacheBytes: Int = 256 << 20) {
        self.minimumCacheBytes = minimumCacheBytes
    }

    /// A buffer of `byteCount` bytes aligned to `alignment` (at most a page), reused when
    /// one is cached.
    package func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        guard byteCount >= Self.smallestPooledBytes else {
            return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: alignment)
        }
        let (cached, evicted): (UInt?, [(UInt, Int)]) = state.withLock { state in
            state.bytesInUse += byteCount
            state.peakBytesInUse = max(state.peakBytesInUse, state.bytesInUse)
            if let address = state.freeBuffers[byteCount]?.popLast() {
                state.cachedBytes -= byteCount
                return (address, [])
            }
            let evicted = evictForFootprintLimit(&state)
            state.peakFootprint = max(state.peakFootprint, state.bytesInUse + state.cachedBytes)
            return (nil, evicted)
        }
        for (address, size) in evicted { munmap(UnsafeMutableRawPointer(bitPattern: address), size) }
        return cached.flatMap { UnsafeMutableRawPointer(bitPattern: $0) } ?? Self.map(byteCount: byteCount)
    }

    /// Returns a buffer from ``allocate(byteCount:alignment:)`` of the same `byteCount`.
    package func deallocate(_ buffer: UnsafeMutableRawPointer, byteCount: Int) {
        guard byteCount >= Self.smallestPooledBytes else {
            buffer.deallocate()
            return
        }
        let address = UInt(bitPattern: buffer)
        let kept = state.withLock { state in
            state.bytesInUse -= byteCount
            guard state.bytesInUse + state.cachedBytes + byteCount <= footprintLimit(state) else { return false }
            state.freeBuffers[byteCount, default: []].append(address)
            state.cachedBytes += byteCount
            return true
        }
        if !kept { munmap(buffer, byteCount) }
    }

    /// The most bytes of buffers (in use and cached) and of tensors alone (in use) that
    /// the pool has held at once.
    package var peaks: (footprint: Int, inUse: Int) {
        state.withLock { ($0.peakFootprint, $0.peakBytesInUse) }
    }

    /// The most bytes the pool keeps mapped, in use and cached together.
    private func footprintLimit(_ state: State) -> Int {
        max(minimumCacheBytes, state.peakBytesInUse + state.peakBytesInUse / 16)
    }

    /// Takes cached buffers out of the cache until the buffers in use (which already count
    /// the buffer about to be mapped) and the cache fit the footprint limit, and returns
    /// them for unmapping. Each time it takes the smallest buffer that covers the remaining
    /// excess, or else the largest, so that little more than the excess goes.
    private func evictForFootprintLimit(_ state: inout State) -> [(UInt, Int)] {
        var evicted: [(UInt, Int)] = []
        let limit = footprintLimit(state)
        while state.bytesInUse + state.cachedBytes > limit {
            let excess = state.bytesInUse + state.cachedBytes - limit
            let sizes = state.freeBuffers.lazy.filter { !$0.value.isEmpty }.map(\.key)
            guard let size = sizes.filter({ $0 >= excess }).min() ?? sizes.max() else { break }
            evicted.append((state.freeBuffers[size]!.removeLast(), size))
            state.cachedBytes -= size
        }
        return evicted
    }

    /// Fresh zero pages of the system's own, page-aligned (so aligned for any tensor).
    ///
    /// Buffers of 2 MiB and more start on a 2 MiB boundary and ask for transparent huge
    /// pages (`MADV_HUGEPAGE`; the system's default here is to use them only when asked):
    /// im2col and GEMM packing stride through megabytes, and 4 KiB pages cost them TLB
    /// misses.
    private static func map(byteCount: Int) -> UnsafeMutableRawPointer {
        let hugePage = 2 << 20
        let wantsHugePages = byteCount >= hugePage
        let reserved = wantsHugePages ? byteCount + hugePage : byteCount
        let result = mmap(nil, reserved, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        require(result != MAP_FAILED && result != nil, "out of memory: cannot map \(byteCount) bytes for a tensor")
        let mapping = result!
        guard wantsHugePages else { return mapping }
        // Keep the 2 MiB-aligned part and return the rest to the system.
        let start = (Int(bitPattern: mapping) + hugePage - 1) / hugePage * hugePage
        let head = start - Int(bitPattern: mapping), tail = reserved - head - byteCount
        if head > 0 { munmap(mapping, head) }
        let buffer = mapping + head
        if tail > 0 { munmap(buffer + byteCount, tail) }
        _ = madvise(buffer, byteCount, MADV_HUGEPAGE)
        return buffer
    }
}
