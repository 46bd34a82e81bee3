/// Evaluates `function` on `model` and returns its scalar value together with the
/// gradient of that value with respect to every trainable parameter of `model`.
///
/// ```swift
/// let (loss, gradients) = valueAndGradient(of: model) { model in
///     binaryCrossEntropyWithLogits(model(images), masks)
/// }
/// optimizer.update(model, gradients: gradients)
/// ```
/// Frozen parameters and state (such as batch-norm running statistics) get no gradient.
/// A trainable parameter that the value does not depend on gets a zero gradient.
public func valueAndGradient<Model: Module>(
    of model: Model, _ function: (Model) throws -> Tensor
) rethrows -> (value: Tensor, gradients: Gradients) {
    let tape = Tape()
    let parameters = model.trainableParameters()
    var leaves: [TapeNode] = []
    for (_, parameter) in parameters {
        let leaf = tape.leaf()
        parameter.value.node = leaf
        leaves.append(leaf)
    }
    defer { for (_, parameter) in parameters { parameter.value.node = nil } }
    let value = try Tape.$active.withValue(tape) { try function(model) }
    backPropagate(value)
    var gradients = Gradients()
    for ((name, parameter), leaf) in zip(parameters, leaves) {
        gradients[name] = leaf.gradient ?? Tensor.zeros(parameter.value.shape)
    }
    return (value.detached(), gradients)
}
