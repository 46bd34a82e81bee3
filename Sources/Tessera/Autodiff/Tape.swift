/// One recorded operation: the tape entries of its inputs and how to map the gradient of
/// its output to theirs. A leaf entry stands for a tensor being differentiated (a model
/// parameter or an explicit input) and collects its gradient.
final class TapeNode: @unchecked Sendable {
    /// Creation order; every node is created after its inputs, so reverse creation order is
    /// a topological order for back-propagation.
    let order: Int
    let inputs: [TapeNode?]
    /// Maps the output gradient to one gradient per input (nil where an input needs none).
    /// Released after use, freeing the tensors it saved.
    var backward: ((Tensor) -> [Tensor?])?
    /// The gradient accumulated so far (fan-out adds).
    var gradient: Tensor?

    /// Whether this entry stands for a tensor being differentiated rather than an operation.
    let isLeaf: Bool

    init(order: Int, inputs: [TapeNode?], backward: ((Tensor) -> [Tensor?])?) {
        self.order = order
        self.inputs = inputs
        self.backward = backward
        self.isLeaf = backward == nil
    }

    func accumulate(_ contribution: Tensor) {
        gradient = gradient.map { $0 + contribution.detached() } ?? contribution.detached()
    }
}

/// The record of a gradient scope: active only inside ``valueAndGradient(of:_:)`` and its
/// relatives, so that code outside a scope records nothing and pays nothing.
final class Tape: @unchecked Sendable {
    @TaskLocal static var active: Tape?

    private var nextOrder = 0

    /// A new leaf entry for a tensor to be differentiated.
    func leaf() -> TapeNode {
        defer { nextOrder += 1 }
        return TapeNode(order: nextOrder, inputs: [], backward: nil)
    }

    /// Whether an operation on `inputs` would be recorded: a scope is active and some input
    /// is on the tape. Operations that save extra state only for their backward pass skip
    /// it otherwise.
    static func isRecording(for inputs: [Tensor]) -> Bool {
        active != nil && inputs.contains { $0.node != nil }
    }

    /// Attaches a tape entry to `output` when a scope is active and some input is on the
    /// tape; otherwise returns `output` untouched. `backward` receives the gradient of
    /// `output` and returns one gradient per input, in order.
    static func record(_ output: Tensor, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard isRecording(for: inputs), let tape = active else { return output }
        var result = output
        result.node = TapeNode(order: tape.nextOrder, inputs: inputs.map(\.node), backward: backward)
        tape.nextOrder += 1
        return result
    }

    /// Back-propagates `seed` from `root` to every entry it depends on, releasing each
    /// operation's saved tensors once used. Leaves keep their gradients.
    ///
    /// - Parameter leafFinished: called for each reachable leaf as soon as its gradient is
    ///   final, that is right after the last operation that uses it has been replayed.
    static func propagate(from root: TapeNode, seed: Tensor, leafFinished: ((TapeNode) -> Void)? = nil) {
        var reachable: [TapeNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack = [root]
        while let node = stack.popLast() {
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            reachable.append(node)
            stack.append(contentsOf: node.inputs.compactMap { $0 })
        }
        reachable.sort { $0.order > $1.order }
        // The replay runs in decreasing order, so a leaf is final after the consumer with
        // the lowest order.
        var lastConsumer: [ObjectIdentifier: Int] = [:]
        if leafFinished != nil {
            for node in reachable {
                for case let input? in node.inputs where input.isLeaf {
                    let key = ObjectIdentifier(input)
                    lastConsumer[key] = min(lastConsumer[key] ?? .max, node.order)
                }
            }
        }
        root.accumulate(seed)
        if root.isLeaf { leafFinished?(root) }
        for node in reachable {
            guard let backward = node.backward, let gradient = node.gradient else { continue }
            let inputGradients = backward(gradient)
            require(
                inputGradients.count == node.inputs.count,
                "autodiff: an operation returned \(inputGradients.count) gradients for \(node.inputs.count) inputs")
            for (input, inputGradient) in zip(node.inputs, inputGradients) {
                if let input, let inputGradient { input.accumulate(inputGradient) }
            }
            node.backward = nil
            node.gradient = nil
            if let leafFinished {
                for case let input? in node.inputs where lastConsumer[ObjectIdentifier(input)] == node.order {
                    lastConsumer[ObjectIdentifier(input)] = nil
                    leafFinished(input)
                }
            }
        }
    }
}
