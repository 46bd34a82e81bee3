extension Tensor {
    /// The arithmetic operators applied element by element to two tensors of equal shape.
    enum ElementwiseOperator: String {
        case add = "+", subtract = "-", multiply = "*", divide = "/"

        /// `c[i] = a[i] ∘ b[i]` over `range`, in a loop with the operator in it (so that it
        /// vectorises), not a call per element.
        func apply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>, over range: Range<Int>) {
            switch self {
            case .add: for index in range { c[index] = a[index] + b[index] }
            case .subtract: for index in range { c[index] = a[index] - b[index] }
            case .multiply: for index in range { c[index] = a[index] * b[index] }
            case .divide: for index in range { c[index] = a[index] / b[index] }
            }
        }
    }

    /// `lhs ∘ rhs` element by element, on several cores for large tensors; operands of
    /// different shapes are broadcast first (see ``broadcastShape(_:_:operation:)``).
    static func zipElements(_ lhs: Tensor, _ rhs: Tensor, _ operation: ElementwiseOperator) -> Tensor {
        precondition(lhs.shape == rhs.shape)
        let result = Tensor(uninitializedShape: lhs.shape)
        nonisolated(unsafe) let a = lhs.storage.pointer, b = rhs.storage.pointer, c = result.storage.pointer
        Parallel.forEachRange(lhs.count, grain: 1 << 15) { range in
            operation.apply(a, b, into: c, over: range)
        }
        return result
    }

    /// Applies `transform` to every element. Not differentiable: refused on a tensor that
    /// an active gradient scope differentiates (use `detached().map` to cut the gradient
    /// deliberately).
    public func map(_ transform: (Float) -> Float) -> Tensor {
        Tape.refuseUntracked(
            "Tensor.map", on: self,
            instead: "build the function from differentiable operations, or call detached().map to cut the gradient deliberately")
        return mapElements(transform)
    }

    /// `map` without the check, for operations that record their own gradient.
    func mapElements(_ transform: (Float) -> Float) -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        let a = storage.pointer, c = result.storage.pointer
        for index in 0..<count {
            c[index] = transform(a[index])
        }
        return result
    }

    /// `lhs + rhs` element by element, broadcasting as NumPy and PyTorch do (differentiable).
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        guard lhs.shape == rhs.shape else { return broadcasting(lhs, rhs, "+", +) }
        return Tape.record(zipElements(lhs, rhs, .add), inputs: [lhs, rhs]) { [$0, $0] }
    }

    /// `lhs - rhs` element by element, broadcasting (differentiable).
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
        guard lhs.shape == rhs.shape else { return broadcasting(lhs, rhs, "-", -) }
        return Tape.record(zipElements(lhs, rhs, .subtract), inputs: [lhs, rhs]) { [$0, -$0] }
    }

    /// `lhs * rhs` element by element, broadcasting (differentiable).
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
        guard lhs.shape == rhs.shape else { return broadcasting(lhs, rhs, "*", *) }
        return Tape.record(zipElements(lhs, rhs, .multiply), inputs: [lhs, rhs]) { [$0 * rhs, $0 * lhs] }
    }

    /// `lhs / rhs` element by element, broadcasting (differentiable).
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor {
        guard lhs.shape == rhs.shape else { return broadcasting(lhs, rhs, "/", /) }
        return Tape.record(zipElements(lhs, rhs, .divide), inputs: [lhs, rhs]) { gradient in
            [gradient / rhs, -(gradient * lhs) / (rhs * rhs)]
        }
    }

    /// `operation` on both operands expanded to their common shape; the expansions are
    /// recorded, so gradients are summed back to each operand's shape.
    private static func broadcasting(
        _ lhs: Tensor, _ rhs: Tensor, _ symbol: String, _ operation: (Tensor, Tensor) -> Tensor
    ) -> Tensor {
        let (shape, fits) = alignedShape(lhs.shape, rhs.shape)
        guard checkShape(fits, broadcastFailure(lhs.shape, rhs.shape, operation: "Tensor \(symbol)")) else {
            return Tensor.zeros(shape)
        }
        return operation(lhs.expanded(to: shape), rhs.expanded(to: shape))
    }

    public static func + (lhs: Tensor, rhs: Float) -> Tensor {
        Tape.record(lhs.mapElements { $0 + rhs }, inputs: [lhs]) { [$0] }
    }

    public static func - (lhs: Tensor, rhs: Float) -> Tensor {
        Tape.record(lhs.mapElements { $0 - rhs }, inputs: [lhs]) { [$0] }
    }

    public static func * (lhs: Tensor, rhs: Float) -> Tensor {
        Tape.record(lhs.mapElements { $0 * rhs }, inputs: [lhs]) { [$0 * rhs] }
    }

    public static func / (lhs: Tensor, rhs: Float) -> Tensor {
        Tape.record(lhs.mapElements { $0 / rhs }, inputs: [lhs]) { [$0 / rhs] }
    }

    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs * lhs }

    public static func - (lhs: Float, rhs: Tensor) -> Tensor { -rhs + lhs }

    public static prefix func - (operand: Tensor) -> Tensor {
        Tape.record(operand.mapElements { -$0 }, inputs: [operand]) { [-$0] }
    }

    public static func += (lhs: inout Tensor, rhs: Tensor) { lhs = lhs + rhs }
    public static func -= (lhs: inout Tensor, rhs: Tensor) { lhs = lhs - rhs }
    public static func *= (lhs: inout Tensor, rhs: Float) { lhs = lhs * rhs }
}
