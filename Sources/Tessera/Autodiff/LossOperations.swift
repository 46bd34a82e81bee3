/// Binary cross-entropy on logits, averaged over all elements (differentiable with respect
/// to `logits`); `targets` in [0, 1] and optional per-element `weights` of the same shape.
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ targets: Tensor, weights: Tensor? = nil) -> Tensor {
    let problem = BinaryCrossEntropyWithLogits.mismatch(logits: logits, targets: targets, weights: weights)
    guard checkShape(problem == nil, problem!) else { return Tensor.zeros([]) }
    let value = BinaryCrossEntropyWithLogits.value(logits: logits, targets: targets, weights: weights)
    let (x, t, w) = (logits.detached(), targets.detached(), weights?.detached())
    return Tape.record(Tensor(shape: [], scalars: [value]), inputs: [logits], firstOrderOnly: "binaryCrossEntropyWithLogits") {
        [BinaryCrossEntropyWithLogits.gradient(logits: x, targets: t, weights: w) * $0.scalar]
    }
}

/// Cross-entropy of `[N, C, …]` logits against one class index per position (differentiable
/// with respect to `logits`), averaged as PyTorch does: weighted by `classWeights`, skipping
/// positions whose target is `ignoreIndex`.
public func crossEntropy(
    _ logits: Tensor, _ targets: [Int32], classWeights: [Float]? = nil, ignoreIndex: Int32? = nil
) -> Tensor {
    let problem = CrossEntropy.mismatch(logits: logits, targets: targets, classWeights: classWeights, ignoreIndex: ignoreIndex)
    guard checkShape(problem == nil, problem!) else { return Tensor.zeros([]) }
    let value = CrossEntropy.value(logits: logits, targets: targets, classWeights: classWeights, ignoreIndex: ignoreIndex)
    let x = logits.detached()
    return Tape.record(Tensor(shape: [], scalars: [value]), inputs: [logits], firstOrderOnly: "crossEntropy") {
        [CrossEntropy.gradient(logits: x, targets: targets, classWeights: classWeights, ignoreIndex: ignoreIndex) * $0.scalar]
    }
}

/// ``crossEntropy(_:_:classWeights:ignoreIndex:)`` with `Int` class indices.
public func crossEntropy(_ logits: Tensor, _ targets: [Int], classWeights: [Float]? = nil, ignoreIndex: Int? = nil) -> Tensor {
    let classes = logits.rank >= 2 ? logits.shape[1] : 0
    for target in targets where target != ignoreIndex {
        guard checkShape(target >= 0 && target < classes, "crossEntropy: target class \(target) out of range for logits \(logits.shape) (\(classes) classes)")
        else { return Tensor.zeros([]) }
    }
    if let ignoreIndex {
        require(Int32(exactly: ignoreIndex) != nil, "crossEntropy: ignoreIndex \(ignoreIndex) out of range")
    }
    return crossEntropy(
        logits, targets.map { Int32(truncatingIfNeeded: $0) }, classWeights: classWeights, ignoreIndex: ignoreIndex.map { Int32($0) })
}

/// `1 − mean Dice` of probabilities `[N, C, …]` against binary or one-hot targets
/// (differentiable with respect to `probabilities`); see ``SoftDice``.
public func softDiceLoss(_ probabilities: Tensor, _ targets: Tensor) -> Tensor {
    let problem = SoftDice.mismatch(probabilities: probabilities, targets: targets)
    guard checkShape(problem == nil, problem!) else { return Tensor.zeros([]) }
    let value = SoftDice.value(probabilities: probabilities, targets: targets)
    let (p, t) = (probabilities.detached(), targets.detached())
    return Tape.record(Tensor(shape: [], scalars: [value]), inputs: [probabilities], firstOrderOnly: "softDiceLoss") {
        [SoftDice.gradient(probabilities: p, targets: t) * $0.scalar]
    }
}
