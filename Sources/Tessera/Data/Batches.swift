/// Something that holds examples along its first dimension and can gather some of them:
/// a `Tensor` (its rows) or an array (its elements).
public protocol BatchSelectable {
    /// How many examples there are.
    var exampleCount: Int { get }
    /// The examples at `indices`, in that order.
    func examples(at indices: [Int]) -> Self
}

extension Tensor: BatchSelectable {
    public var exampleCount: Int { rank == 0 ? 0 : shape[0] }
    public func examples(at indices: [Int]) -> Tensor { rows(at: indices) }
}

extension Array: BatchSelectable {
    public var exampleCount: Int { count }
    public func examples(at indices: [Int]) -> [Element] { indices.map { self[$0] } }
}

/// In-memory examples in mini-batches of `size`, in order or shuffled, as PyTorch's
/// `DataLoader(TensorDataset(inputs, targets), batch_size, shuffle, drop_last)`:
///
///     for epoch in 0..<epochs {
///         for (x, y) in Batches(images, labels, size: 32, shuffledWith: &generator) { … }
///     }
///
/// The order is drawn when the value is made, so each epoch's new `Batches` is a new
/// order, and the same seed gives the same orders.
public struct Batches<Inputs: BatchSelectable, Targets: BatchSelectable>: Sequence {
    public let inputs: Inputs
    public let targets: Targets
    public let size: Int
    /// The example indices in the order they are served.
    public let order: [Int]
    /// Whether a last batch smaller than `size` is left out.
    public let dropsLast: Bool

    /// The examples in order.
    public init(_ inputs: Inputs, _ targets: Targets, size: Int, dropLast: Bool = false) {
        self.init(inputs, targets, size: size, order: Array(0..<inputs.exampleCount), dropLast: dropLast)
    }

    /// The examples in an order drawn from `generator` (Fisher–Yates).
    public init(_ inputs: Inputs, _ targets: Targets, size: Int, shuffledWith generator: inout RandomGenerator, dropLast: Bool = false) {
        var order = Array(0..<inputs.exampleCount)
        if order.count > 1 {
            for index in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(index, Int(generator.next() % UInt64(index + 1)))
            }
        }
        self.init(inputs, targets, size: size, order: order, dropLast: dropLast)
    }

    private init(_ inputs: Inputs, _ targets: Targets, size: Int, order: [Int], dropLast: Bool) {
        require(size >= 1, "Batches: size must be at least 1, got \(size)")
        require(
            inputs.exampleCount == targets.exampleCount,
            "Batches: \(inputs.exampleCount) inputs but \(targets.exampleCount) targets")
        (self.inputs, self.targets, self.size, self.order, self.dropsLast) = (inputs, targets, size, order, dropLast)
    }

    /// How many batches an epoch has.
    public var count: Int { dropsLast ? order.count / size : (order.count + size - 1) / size }

    public func makeIterator() -> AnyIterator<(inputs: Inputs, targets: Targets)> {
        var batch = 0
        return AnyIterator {
            guard batch < count else { return nil }
            let indices = Array(order[(batch * size)..<Swift.min((batch + 1) * size, order.count)])
            batch += 1
            return (inputs.examples(at: indices), targets.examples(at: indices))
        }
    }
}
