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
/// A trainable parameter that the value does not depend on gets a zero gradient. Plain
/// `Tensor` properties of the model are not parameters: each is reported once on standard
/// error (see ``Module/plainTensorProperties()``).
///
/// Inside another gradient scope, the value and the gradients are recorded on the
/// enclosing scope's tape, which differentiates through them (see
/// ``valueAndGradient(at:of:)``).
///
/// - Parameter gradientFinished: called once for every trainable parameter, by index in
///   `model.trainableParameters()`, as soon as its gradient is final: during the backward
///   pass, about in reverse order of use (parameters the value does not depend on last,
///   with zeros). Data-parallel training starts reducing gradients there while the
///   backward pass goes on.
public func valueAndGradient<Model: Module>(
    of model: Model, gradientFinished: ((_ index: Int, _ gradient: Tensor) -> Void)? = nil,
    _ function: (Model) throws -> Tensor
) rethrows -> (value: Tensor, gradients: Gradients) {
    model.warnAboutPlainTensors()
    let parameters = model.trainableParameters()
    if let enclosing = Tape.active {
        let start = enclosing.nextEntryOrder
        let leaves = parameters.map { enclosing.leaf(for: $0.1) }
        let value = try function(model)
        requireOneValue(value)
        var gradients = Gradients()
        for ((name, parameter), gradient) in zip(parameters, enclosing.gradients(of: value, at: leaves, since: start)) {
            gradients[name] = gradient ?? Tensor.zeros(parameter.value.shape)
        }
        for (index, name) in parameters.map(\.0).enumerated() { gradientFinished?(index, gradients[name]!) }
        return (value, gradients)
    }
    let tape = Tape()
    let leaves = parameters.map { tape.leaf(for: $0.1) }
    let value = try Tape.$active.withValue(tape) { try function(model) }
    if let gradientFinished {
        let indices = Dictionary(uniqueKeysWithValues: leaves.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
        var finished = [Bool](repeating: false, count: leaves.count)
        backPropagate(value, on: tape) { leaf in
            guard let index = indices[ObjectIdentifier(leaf)], let gradient = leaf.gradient else { return }
            finished[index] = true
            gradientFinished(index, gradient)
        }
        for (index, done) in finished.enumerated() where !done {
            gradientFinished(index, Tensor.zeros(parameters[index].1.value.shape))
        }
    } else {
        backPropagate(value, on: tape)
    }
    var gradients = Gradients()
    for ((name, parameter), leaf) in zip(parameters, leaves) {
        gradients[name] = leaf.gradient ?? Tensor.zeros(parameter.value.shape)
    }
    return (value.detached(), gradients)
}
