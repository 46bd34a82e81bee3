#if canImport(Glibc)
import Glibc
#endif

/// Reference-counted, 64-byte-aligned storage of `Float` values behind a ``Tensor``.
///
/// A storage is shared by tensors until one of them writes; ``Tensor`` then copies it
/// (copy-on-write), so a storage reachable from more than one tensor is never mutated.
final class TensorStorage: @unchecked Sendable {
    /// Alignment of every buffer: one cache line, and what AVX-512 loads prefer.
    static let alignment = 64

    /// Keeps large freed buffers in the heap instead of returning them to the kernel.
    ///
    /// glibc serves blocks above a (dynamic, at most 32 MiB) threshold with fresh `mmap`s,
    /// so every training step would page-fault and zero its activations anew. Raising the
    /// thresholds lets a step reuse the previous step's memory, as PyTorch's caching
    /// allocator does.
    private static let configureAllocator: Void = {
        #if canImport(Glibc)
        _ = glibcMallopt(-3, 1 << 30)  // M_MMAP_THRESHOLD
        _ = glibcMallopt(-1, 1 << 30)  // M_TRIM_THRESHOLD
        #endif
    }()

    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    /// Allocates `count` uninitialised floats.
    init(count: Int) {
        _ = Self.configureAllocator
        require(count >= 0, "TensorStorage: negative element count \(count)")
        let capacity = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<Float>.stride, alignment: Self.alignment)
        pointer = raw.bindMemory(to: Float.self, capacity: capacity)
        self.count = count
    }

    /// Allocates a copy of `other`.
    convenience init(copying other: TensorStorage) {
        self.init(count: other.count)
        pointer.update(from: other.pointer, count: count)
    }

    deinit {
        UnsafeMutableRawPointer(pointer).deallocate()
    }
}

#if canImport(Glibc)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
