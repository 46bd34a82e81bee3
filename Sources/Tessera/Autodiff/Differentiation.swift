/// Evaluates `function` at `inputs` and returns its scalar value together with the
/// gradient of that value with respect to each input.
///
/// Operations on tensors inside `function` are recorded on a tape and replayed backwards;
/// nothing is recorded outside such a scope.
///
/// - Precondition: `function` returns a tensor of one element.
public func valueAndGradient(
    at inputs: [Tensor], of function: ([Tensor]) throws -> Tensor
) rethrows -> (value: Tensor, gradients: [Tensor]) {
    let tape = Tape()
    var tracked = inputs
    for index in tracked.indices { tracked[index].node = tape.leaf() }
    let leaves = tracked.map { $0.node! }
    let value = try Tape.$active.withValue(tape) { try function(tracked) }
    backPropagate(value, on: tape)
    let gradients = zip(leaves, inputs).map { leaf, input in leaf.gradient ?? Tensor.zeros(input.shape) }
    return (value.detached(), gradients)
}

/// Back-propagates from `value`, the result of a scope recorded on `tape` (a value that
/// does not depend on the tape's leaves leaves them without gradients).
func backPropagate(_ value: Tensor, on tape: Tape, leafFinished: ((TapeNode) -> Void)? = nil) {
    require(value.count == 1, "valueAndGradient: the function must return one value, got shape \(value.shape)")
    if let root = tape.entry(of: value) {
        Tape.propagate(from: root, seed: Tensor(shape: value.shape, repeating: 1), leafFinished: leafFinished)
    }
}
