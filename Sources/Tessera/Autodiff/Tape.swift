/// One recorded operation: the tape entries of its inputs and how to map the gradient of
/// its output to theirs. A leaf entry stands for a tensor being differentiated (a model
/// parameter or an explicit input) and collects its gradient.
final class TapeNode: @unchecked Sendable {
    /// The tape this entry belongs to. A tensor that carries an entry of another tape (a
    /// finished one's, or another task's) is a constant to the active tape.
    let tape: ObjectIdentifier
    /// Creation order; every node is created after its inputs, so reverse creation order is
    /// a topological order for back-propagation.
    let order: Int
    let inputs: [TapeNode?]
    /// Maps the output gradient to one gradient per input (nil where an input needs none).
    /// Released after use by the outermost scope's backward pass, freeing the tensors it
    /// saved.
    var backward: ((Tensor) -> [Tensor?])?
    /// The operation's name when its backward pass runs kernels that record nothing (for
    /// some or all of its inputs), so that a gradient of such a gradient cannot be taken;
    /// nil when the backward pass is built from differentiable operations.
    let firstOrderOnly: String?
    /// The gradient accumulated so far (fan-out adds).
    var gradient: Tensor?

    /// Whether this entry stands for a tensor being differentiated rather than an operation.
    let isLeaf: Bool

    init(
        tape: ObjectIdentifier, order: Int, inputs: [TapeNode?], firstOrderOnly: String? = nil,
        backward: ((Tensor) -> [Tensor?])?
    ) {
        self.tape = tape
        self.order = order
        self.inputs = inputs
        self.backward = backward
        self.firstOrderOnly = firstOrderOnly
        self.isLeaf = backward == nil
    }

    func accumulate(_ contribution: Tensor) {
        gradient = gradient.map { $0 + contribution.detached() } ?? contribution.detached()
    }
}

/// The record of a gradient scope: active only inside ``valueAndGradient(of:_:)`` and its
/// relatives, so that code outside a scope records nothing and pays nothing.
///
/// The outermost scope of a task makes a tape, bound to that task. A model's parameters
/// are leaves of a tape by identity (``Parameter/value`` reads as tracked only while that
/// tape is active), so scopes running in parallel tasks on one model never share entries.
/// A scope inside another records on the enclosing tape and replays its own part of it
/// with the tape still active (``gradients(of:at:since:)``): its gradients are recorded
/// like any other result, and the enclosing scope differentiates through them (second
/// derivatives, as PyTorch's `create_graph=True`).
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

    /// The leaf entry of `parameter`, which reads as tracked by it while this tape is
    /// active: a new one, or the one an enclosing scope made.
    func leaf(for parameter: Parameter) -> TapeNode {
        if let node = parameterLeaves[ObjectIdentifier(parameter)] { return node }
        let node = leaf()
        parameterLeaves[ObjectIdentifier(parameter)] = node
        return node
    }

    /// The order the next entry gets: entries from it on are those a scope starting now
    /// records.
    var nextEntryOrder: Int { nextOrder }

    /// `tensor` with a new entry on this tape that passes its gradient on unchanged: the
    /// point a nested scope differentiates with respect to, whatever `tensor` already
    /// depends on.
    func identityEntry(for tensor: Tensor) -> Tensor {
        var result = tensor
        result.node = TapeNode(tape: identity, order: nextOrder, inputs: [entry(of: tensor)]) { [$0] }
        nextOrder += 1
        return result
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
    /// `output` and returns one gradient per input, in order, computed by differentiable
    /// operations on tensors that keep their tape entries, so that a nested scope's
    /// replay of it is recorded too.
    static func record(_ output: Tensor, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        record(output, inputs: inputs, firstOrderOnly: nil, backward: backward)
    }

    /// ``record(_:inputs:backward:)`` for an operation whose `backward` runs kernels that
    /// record nothing: its gradient is exact, but a gradient of that gradient (a nested
    /// scope's gradient that the enclosing scope differentiates) stops with a message
    /// naming `operation`.
    static func record(
        _ output: Tensor, inputs: [Tensor], firstOrderOnly operation: String, backward: @escaping (Tensor) -> [Tensor?]
    ) -> Tensor {
        record(output, inputs: inputs, firstOrderOnly: Optional(operation), backward: backward)
    }

    private static func record(
        _ output: Tensor, inputs: [Tensor], firstOrderOnly operation: String?, backward: @escaping (Tensor) -> [Tensor?]
    ) -> Tensor {
        guard isRecording(for: inputs), let tape = active else { return output }
        var result = output
        result.node = TapeNode(
            tape: tape.identity, order: tape.nextOrder, inputs: inputs.map { tape.entry(of: $0) },
            firstOrderOnly: operation, backward: backward)
        tape.nextOrder += 1
        return result
    }

    /// The gradients of `value` with respect to the entries `targets`, for a scope nested
    /// in another: the operations recorded since order `start` are replayed backwards while
    /// this tape stays active, so that the gradients are recorded and the enclosing scope
    /// differentiates through them. Entries recorded before `start` (what the scope's
    /// function captured) are constants to it; nothing is released.
    ///
    /// A gradient that a first-order-only operation computed by its kernels (one without an
    /// entry) comes back with an entry that stops, naming the operation, when a backward
    /// pass reaches it.
    func gradients(of value: Tensor, at targets: [TapeNode], since start: Int) -> [Tensor?] {
        let targetKeys = Set(targets.map(ObjectIdentifier.init))
        func isInScope(_ node: TapeNode) -> Bool { node.order >= start || targetKeys.contains(ObjectIdentifier(node)) }
        guard let root = entry(of: value), isInScope(root) else { return targets.map { _ in nil } }
        let reachable = Self.replayOrder(from: root) { node in
            targetKeys.contains(ObjectIdentifier(node)) ? [] : node.inputs.compactMap { $0 }.filter(isInScope)
        }
        var gradients = [ObjectIdentifier(root): Tensor(shape: value.shape, repeating: 1)]
        for node in reachable where !targetKeys.contains(ObjectIdentifier(node)) {
            guard let backward = node.backward, let gradient = gradients[ObjectIdentifier(node)] else { continue }
            let inputGradients = backward(gradient)
            require(
                inputGradients.count == node.inputs.count,
                "autodiff: an operation returned \(inputGradients.count) gradients for \(node.inputs.count) inputs")
            for case let (input?, inputGradient?) in zip(node.inputs, inputGradients) where isInScope(input) {
                // A first-order operation's gradient without an entry came from its kernels.
                let contribution = node.firstOrderOnly.flatMap { operation in
                    entry(of: inputGradient) == nil ? refusingSecondDerivative(inputGradient, after: gradient, of: operation) : nil
                } ?? inputGradient
                let key = ObjectIdentifier(input)
                gradients[key] = gradients[key].map { $0 + contribution } ?? contribution
            }
        }
        return targets.map { gradients[ObjectIdentifier($0)] }
    }

    /// `gradient`, computed by `operation`'s first-order backward pass from `outputGradient`,
    /// with an entry that stops with a message when a backward pass reaches it.
    private func refusingSecondDerivative(_ gradient: Tensor, after outputGradient: Tensor, of operation: String) -> Tensor {
        var result = gradient.detached()
        result.node = TapeNode(tape: identity, order: nextOrder, inputs: [entry(of: outputGradient)]) { _ in
            fatalError(
                "\(operation): this gradient comes from a first-order backward pass, so the enclosing gradient scope "
                    + "cannot differentiate a nested scope's gradient through it (docs/library.md lists the operations "
                    + "that can); call detached() on that gradient to use it as a constant")
        }
        nextOrder += 1
        return result
    }

    /// `root` and every entry reached from it through `inputs`, in decreasing creation
    /// order: each after all the entries that use it.
    private static func replayOrder(from root: TapeNode, inputs: (TapeNode) -> [TapeNode]) -> [TapeNode] {
        var reachable: [TapeNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack = [root]
        while let node = stack.popLast() {
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            reachable.append(node)
            stack.append(contentsOf: inputs(node))
        }
        return reachable.sorted { $0.order > $1.order }
    }

    /// Back-propagates `seed` from `root` to every entry it depends on, releasing each
    /// operation's saved tensors once used. Leaves keep their gradients.
    ///
    /// - Parameter leafFinished: called for each reachable leaf as soon as its gradient is
    ///   final, that is right after the last operation that uses it has been replayed.
    static func propagate(from root: TapeNode, seed: Tensor, leafFinished: ((TapeNode) -> Void)? = nil) {
        let reachable = replayOrder(from: root) { $0.inputs.compactMap { $0 } }
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
