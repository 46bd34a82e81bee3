/// Gradients of a scalar with respect to a model's trainable parameters, by dotted name.
public struct Gradients: Sendable, Sequence {
    private var storage: [String: Tensor] = [:]
    /// Names in the order the model lists its parameters.
    public private(set) var names: [String] = []

    public init() {}

    /// The gradient of the parameter `name`.
    public subscript(name: String) -> Tensor? {
        get { storage[name] }
        set {
            if storage[name] == nil, newValue != nil { names.append(name) }
            if newValue == nil { names.removeAll { $0 == name } }
            storage[name] = newValue
        }
    }

    public func makeIterator() -> some IteratorProtocol<(name: String, gradient: Tensor)> {
        names.map { (name: $0, gradient: storage[$0]!) }.makeIterator()
    }

    /// The Euclidean norm of all gradients taken together.
    public var globalNorm: Float {
        Float(squaredNorm().squareRoot())
    }

    /// The sum of squares of the gradients of the parameters under `block` (names starting
    /// with `block.`), or of all gradients when `block` is nil.
    public func squaredNorm(under block: String? = nil) -> Double {
        var total = 0.0
        for (name, gradient) in self where block.map({ name.hasPrefix($0 + ".") }) ?? true {
            gradient.withUnsafeBufferPointer { buffer in
                // Float lanes over short chunks, chunks summed in Double.
                let chunk = 4096
                for start in stride(from: 0, to: buffer.count, by: chunk) {
                    total += Double(LaneReduction.sumOfSquaredDeviations(
                        buffer.baseAddress! + start, count: Swift.min(chunk, buffer.count - start), from: 0))
                }
            }
        }
        return total
    }

    /// Scales all gradients so that their global norm is at most `maximumNorm` (PyTorch's
    /// `clip_grad_norm_`, with its 1e-6 guard), and returns the norm before clipping.
    @discardableResult
    public mutating func clipGlobalNorm(_ maximumNorm: Float) -> Float {
        let norm = globalNorm
        let scale = maximumNorm / (norm + 1e-6)
        if scale < 1 {
            for name in names { storage[name] = storage[name]! * scale }
        }
        return norm
    }
}
