/// One recorded operation: the tape entries of its inputs and how to map the gradient of
/// its output to theirs. A leaf entry stands for a tensor being differentiated (a model
/// parameter or an explicit input) and collects its gradient.
final class TapeNode: @unchecked Sendable {
    /// The tape this entry belongs to. A tensor that carries an entry of another tape (an
    /// enclosing scope's, or a finished one's) is a constant to the active tape.
    let tape: ObjectIdentifier
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

    init(tape: ObjectIdentifier, order: Int, inputs: [TapeNode?], backward: ((Tensor) -> [Tensor?])?) {
        self.tape = tape
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
///
/// Each scope has its own tape, bound to the task that runs it. A model's parameters are
/// leaves of a tape by identity (``Parameter/value`` reads as tracked only while that
/// tape is active), so scopes nested in one another or running in parallel tasks on one
/// model never share entries: to a scope, everything another scope computed is a
/// constant (first derivatives only).
final class Tape: @unchecked Sendable {
    @TaskLocal static var active: Tape?

    private var nextOrder = 0
    private var parameterLeaves: [ObjectIdentifier: TapeNode] = [:]

    private var identity: ObjectIdentifier { ObjectIdentifier(self) }

    /// A new leaf entry for a tensor to be differentiated.
    func leaf() -> TapeNode {
        defer { nextOrder += 1 }
        return TapeNode(tape: identity, order: nextOrder, inputs: [], backward: nil)
    }

    /// A new leaf entry for `parameter`, which reads as tracked by it while this tape is
    /// active.
    func leaf(for parameter: Parameter) -> TapeNode {
        let node = leaf()
        parameterLeaves[ObjectIdentifier(parameter)] = node
        return node
    }

    /// The leaf of `parameter` on this tape, if it is differentiated here.
    func leafOf(_ parameter: Parameter) -> TapeNode? {
        parameterLeaves[ObjectIdentifier(parameter)]
    }

    /// `tensor`'s entry if it is on this tape.
    func entry(of tensor: Tensor) -> TapeNode? {
        guard let node = tensor.node, node.tape == identity else { return nil }
        return node
    }

    /// Whether `tensor` is on the active tape: the gradient of the scope flows through it.
    static func isTracked(_ tensor: Tensor) -> Bool {
        active?.entry(of: tensor) != nil
    }

    /// Whether an operation on `inputs` would be recorded: a scope is active and some input
    /// is on its tape. Operations that save extra state only for their backward pass skip
    /// it otherwise.
    static func isRecording(for inputs: [Tensor]) -> Bool {
        guard let tape = active else { return false }
        return inputs.contains { tape.entry(of: $0) != nil }
    }

    /// Stops with a message naming `operation` when `tensor` is on the active tape: for
    /// operations that cannot pass a gradient on (element-wise closures, writes in place).
    static func refuseUntracked(_ operation: String, on tensor: Tensor, instead: String) {
        require(
            !isTracked(tensor),
            "\(operation) is not differentiable, and the gradient scope differentiates this tensor of shape \(tensor.shape): \(instead)")
    }

    /// Attaches a tape entry to `output` when a scope is active and some input is on the
    /// tape; otherwise returns `output` untouched. `backward` receives the gradient of
    /// `output` and returns one gradient per input, in order.
    static func record(_ output: Tensor, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard isRecording(for: inputs), let tape = active else { return output }
        var result = output
        result.node = TapeNode(
            tape: tape.identity, order: tape.nextOrder, inputs: inputs.map { tape.entry(of: $0) }, backward: backward)
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
