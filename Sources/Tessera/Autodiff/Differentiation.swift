/// Evaluates `function` at `inputs` and returns its scalar value together with the
/// gradient of that value with respect to each input.
///
/// Operations on tensors inside `function` are recorded on a tape and replayed backwards;
/// nothing is recorded outside such a scope.
///
/// Inside another gradient scope, the value and the gradients are recorded on the
/// enclosing scope's tape, so that it differentiates through them: a loss term built from
/// this gradient (an input-gradient penalty) gets its true gradient with respect to the
/// enclosing scope's parameters. To this scope, what `function` captures is a constant.
///
/// - Precondition: `function` returns a tensor of one element.
public func valueAndGradient(
    at inputs: [Tensor], of function: ([Tensor]) throws -> Tensor
) rethrows -> (value: Tensor, gradients: [Tensor]) {
    if let enclosing = Tape.active {
        let start = enclosing.nextEntryOrder
        let tracked = inputs.map { enclosing.identityEntry(for: $0) }
        let value = try function(tracked)
        requireOneValue(value)
        let gradients = enclosing.gradients(of: value, at: tracked.map { $0.node! }, since: start)
        return (value, zip(gradients, inputs).map { gradient, input in gradient ?? Tensor.zeros(input.shape) })
    }
    let tape = Tape()
    var tracked = inputs
    for index in tracked.indices { tracked[index].node = tape.leaf() }
    let leaves = tracked.map { $0.node! }
    let value = try Tape.$active.withValue(tape) { try function(tracked) }
    backPropagate(value, on: tape)
    let gradients = zip(leaves, inputs).map { leaf, input in leaf.gradient ?? Tensor.zeros(input.shape) }
    return (value.detached(), gradients)
}

/// Stops unless `value`, a scope's result, has one element.
func requireOneValue(_ value: Tensor) {
    require(value.count == 1, "valueAndGradient: the function must return one value, got shape \(value.shape)")
}

/// Back-propagates from `value`, the result of a scope recorded on `tape` (a value that
/// does not depend on the tape's leaves leaves them without gradients).
func backPropagate(_ value: Tensor, on tape: Tape, leafFinished: ((TapeNode) -> Void)? = nil) {
    requireOneValue(value)
    if let root = tape.entry(of: value) {
        Tape.propagate(from: root, seed: Tensor(shape: value.shape, repeating: 1), leafFinished: leafFinished)
    }
}
