/// Binary cross-entropy on logits, averaged over all elements (differentiable with respect
/// to `logits`); `targets` in [0, 1] and optional per-element `weights` of the same shape.
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ targets: Tensor, weights: Tensor? = nil) -> Tensor {
    guard checkShape(
        logits.shape == targets.shape && logits.count > 0 && (weights.map { $0.shape == logits.shape } ?? true),
        "binary_cross_entropy_with_logits: logits \(logits.shape), targets \(targets.shape) and weights \(weights?.shape ?? logits.shape) must have the same non-empty shape")
    else { return Tensor.zeros([]) }
    let value = BinaryCrossEntropyWithLogits.value(logits: logits, targets: targets, weights: weights)
    let (x, t, w) = (logits.detached(), targets.detached(), weights?.detached())
    return Tape.record(Tensor(shape: [], scalars: [value]), inputs: [logits]) {
        [BinaryCrossEntropyWithLogits.gradient(logits: x, targets: t, weights: w) * $0.scalar]
    }
}

/// Cross-entropy of `[N, C, …]` logits against one class index per position (differentiable
/// with respect to `logits`), averaged as PyTorch does: weighted by `classWeights`, skipping
/// positions whose target is `ignoreIndex`.
public func crossEntropy(
    _ logits: Tensor, _ targets: [Int32], classWeights: [Float]? = nil, ignoreIndex: Int32? = nil
) -> Tensor {
    let classes = logits.rank >= 2 ? logits.shape[1] : 0
    guard checkShape(
        classes > 0 && targets.count * classes == logits.count,
        "cross_entropy: \(targets.count) targets do not match logits \(logits.shape) (expected [N, C, …] and one target per position)"),
        checkShape(classWeights.map { $0.count == classes } ?? true, "cross_entropy: \(classWeights?.count ?? 0) class weights for \(classes) classes"),
        checkShape(
            targets.allSatisfy { $0 == ignoreIndex || (0..<Int32(classes)).contains($0) },
            "cross_entropy: a target is not a class in 0..<\(classes) (logits \(logits.shape))")
    else { return Tensor.zeros([]) }
    let value = CrossEntropy.value(logits: logits, targets: targets, classWeights: classWeights, ignoreIndex: ignoreIndex)
    let x = logits.detached()
    return Tape.record(Tensor(shape: [], scalars: [value]), inputs: [logits]) {
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
    guard checkShape(
        probabilities.shape == targets.shape && probabilities.rank >= 2 && probabilities.count > 0,
        "soft_dice: probabilities \(probabilities.shape) and targets \(targets.shape) must have the same shape [N, C, …]")
    else { return Tensor.zeros([]) }
    let value = SoftDice.value(probabilities: probabilities, targets: targets)
    let (p, t) = (probabilities.detached(), targets.detached())
    return Tape.record(Tensor(shape: [], scalars: [value]), inputs: [probabilities]) {
        [SoftDice.gradient(probabilities: p, targets: t) * $0.scalar]
    }
}
