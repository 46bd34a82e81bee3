/// An n-dimensional array of `Float`: a shape plus contiguous row-major storage.
///
/// Images are laid out NCHW. Tensors have value semantics: copying one is O(1) and the
/// storage is duplicated only when a shared tensor is written to (copy-on-write).
/// `reshaped(_:)` never copies.
public struct Tensor: Sendable {
    /// The size of each dimension, outermost first.
    public private(set) var shape: [Int]
    var storage: TensorStorage
    /// The tape entry that produced this tensor inside a gradient scope; nil otherwise.
    var node: TapeNode?

    /// The number of elements (the product of `shape`; 1 for a scalar).
    public var count: Int { storage.count }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// Creates a tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(uninitializedShape: shape)
        storage.pointer.initialize(repeating: value, count: count)
    }

    /// Creates a tensor of `shape` holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        let count = Tensor.elementCount(of: shape)
        require(
            scalars.count == count,
            "Tensor(shape:scalars:): shape \(shape) holds \(count) elements, got \(scalars.count) scalars")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: count) }
    }

    /// Creates a one-dimensional tensor from `scalars`.
    public init(_ scalars: [Float]) {
        self.init(shape: [scalars.count], scalars: scalars)
    }

    /// Creates a tensor whose elements are left uninitialised; every element must be
    /// written before it is read. For kernels that overwrite their whole output.
    init(uninitializedShape shape: [Int]) {
        self.shape = shape
        self.storage = TensorStorage(count: Tensor.elementCount(of: shape))
    }

    /// The product of the dimensions, checking that none is negative.
    static func elementCount(of shape: [Int]) -> Int {
        var count = 1
        for dimension in shape {
            require(dimension >= 0, "Tensor: negative dimension in shape \(shape)")
            count *= dimension
        }
        return count
    }

    /// All elements in row-major order: a copy, so a tensor made from it is a constant to
    /// any gradient scope.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The single element of a one-element tensor.
    public var scalar: Float {
        require(count == 1, "Tensor.scalar: tensor of shape \(shape) has \(count) elements, expected 1")
        return storage.pointer[0]
    }

    /// The same elements viewed with another shape of equal element count; never copies.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var result = self
        let newCount = Tensor.elementCount(of: newShape)
        guard checkShape(
            newCount == count,
            "reshaped: cannot view shape \(shape) (\(count) elements) as \(newShape) (\(newCount) elements)")
        else { return Tensor.zeros(newShape) }
        result.shape = newShape
        result.node = nil
        let originalShape = shape
        return Tape.record(result, inputs: [self]) { [$0.reshaped(originalShape)] }
    }

    /// The same values, cut off from any gradient tape: gradients do not flow through it.
    public func detached() -> Tensor {
        var result = self
        result.node = nil
        return result
    }

    /// Calls `body` with a read-only view of the elements.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Calls `body` with a writable view of the elements, copying shared storage first.
    ///
    /// - Precondition: no active gradient scope differentiates this tensor (a write in
    ///   place cannot pass a gradient on; write into `detached()` to cut it deliberately).
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        Tape.refuseUntracked("Tensor.withUnsafeMutableBufferPointer", on: self, instead: "write into detached() to cut the gradient deliberately")
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Ensures this tensor is the only owner of its storage.
    mutating func makeUnique() {
        // Writing in place invalidates whatever the tape recorded about this tensor.
        node = nil
        if !isKnownUniquelyReferenced(&storage) {
            storage = TensorStorage(copying: storage)
        }
    }

    /// The flat row-major offset of a multi-dimensional index; nil for an index that does
    /// not fit the shape inside a ``withError(_:)`` scope.
    func offset(of index: [Int]) -> Int? {
        guard checkShape(
            index.count == shape.count,
            "Tensor subscript: index \(index) has \(index.count) components, shape \(shape) has \(shape.count)")
        else { return nil }
        var offset = 0
        for (position, dimension) in zip(index, shape) {
            guard checkShape(position >= 0 && position < dimension, "Tensor subscript: index \(index) out of range for shape \(shape)")
            else { return nil }
            offset = offset * dimension + position
        }
        return offset
    }

    /// The element at a multi-dimensional index, e.g. `t[0, 2, 1]`. Writing is refused
    /// on a tensor that an active gradient scope differentiates. Inside a
    /// ``withError(_:)`` scope an index out of range reads 0 and writes nothing.
    public subscript(_ index: Int...) -> Float {
        get { offset(of: index).map { storage.pointer[$0] } ?? 0 }
        set {
            Tape.refuseUntracked("writing an element (Tensor subscript)", on: self, instead: "write into detached() to cut the gradient deliberately")
            guard let position = offset(of: index) else { return }
            makeUnique()
            storage.pointer[position] = newValue
        }
    }
}
