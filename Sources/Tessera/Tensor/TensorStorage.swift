/// Reference-counted, 64-byte-aligned storage of `Float` values behind a ``Tensor``.
///
/// A storage is shared by tensors until one of them writes; ``Tensor`` then copies it
/// (copy-on-write), so a storage reachable from more than one tensor is never mutated.
final class TensorStorage: @unchecked Sendable {
    /// Alignment of every buffer: one cache line, and what AVX-512 loads prefer.
    static let alignment = 64

    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    /// Allocates `count` uninitialised floats (large buffers through ``BufferPool``).
    init(count: Int) {
        require(count >= 0, "TensorStorage: negative element count \(count)")
        let capacity = max(count, 1)
        let raw = BufferPool.shared.allocate(byteCount: capacity * MemoryLayout<Float>.stride, alignment: Self.alignment)
        pointer = raw.bindMemory(to: Float.self, capacity: capacity)
        self.count = count
    }

    /// Allocates a copy of `other`.
    convenience init(copying other: TensorStorage) {
        self.init(count: other.count)
        pointer.update(from: other.pointer, count: count)
    }

    deinit {
        BufferPool.shared.deallocate(UnsafeMutableRawPointer(pointer), byteCount: max(count, 1) * MemoryLayout<Float>.stride)
    }
}
