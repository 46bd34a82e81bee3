import Foundation

/// Cross-entropy of `[N, C, …]` logits against class indices `[N, …]` (PyTorch's
/// `cross_entropy`, reduction "mean"): `ℓ = Σᵢ w_{tᵢ}·(−log softmax(xᵢ)_{tᵢ}) / Σᵢ w_{tᵢ}`
/// over the positions `i` whose target is not `ignoreIndex`.
public enum CrossEntropy {
    /// The mean loss.
    ///
    /// - Parameters:
    ///   - targets: one class index per position, `N·H·W` values in `0..<C` (or `ignoreIndex`).
    ///   - classWeights: optional `[C]` weight per class.
    ///   - ignoreIndex: a target value whose positions contribute nothing.
    public static func value(
        logits: Tensor, targets: [Int32], classWeights: [Float]? = nil, ignoreIndex: Int32? = nil
    ) -> Float {
        let logProbabilities = ChannelSoftmax.logSoftmax(logits)
        let (weights, total) = positionWeights(logits: logits, targets: targets, classWeights: classWeights, ignoreIndex: ignoreIndex)
        guard total > 0 else { return .nan }
        let channels = logits.shape[1], plane = logits.count / (logits.shape[0] * channels)
        var loss = 0.0
        for (position, target) in targets.enumerated() where weights[position] != 0 {
            let image = position / plane, pixel = position % plane
            loss -= Double(weights[position]) * Double(logProbabilities.storage.pointer[(image * channels + Int(target)) * plane + pixel])
        }
        return Float(loss / total)
    }

    /// `∂ℓ/∂xᶜᵢ = w_{tᵢ} · (softmax(xᵢ)ᶜ − [c = tᵢ]) / Σ w`.
    public static func gradient(
        logits: Tensor, targets: [Int32], classWeights: [Float]? = nil, ignoreIndex: Int32? = nil
    ) -> Tensor {
        let probabilities = ChannelSoftmax.softmax(logits)
        let (weights, total) = positionWeights(logits: logits, targets: targets, classWeights: classWeights, ignoreIndex: ignoreIndex)
        let channels = logits.shape[1], plane = logits.count / (logits.shape[0] * channels)
        let result = Tensor(uninitializedShape: logits.shape)
        let p = probabilities.storage.pointer, g = result.storage.pointer
        let scale = total > 0 ? 1 / Float(total) : 0
        for (position, target) in targets.enumerated() {
            let image = position / plane, pixel = position % plane
            let w = weights[position] * scale
            for c in 0..<channels {
                let i = (image * channels + c) * plane + pixel
                g[i] = w * (p[i] - (c == Int(target) ? 1 : 0))
            }
        }
        return result
    }

    /// What is wrong with the logits' shape, the targets' count or classes, or the class
    /// weights' count; nil when they fit.
    package static func mismatch(logits: Tensor, targets: [Int32], classWeights: [Float]?, ignoreIndex: Int32?) -> String? {
        guard logits.rank >= 2 else { return "cross_entropy: expected logits [N, C, …], got \(logits.shape)" }
        let channels = logits.shape[1]
        guard targets.count * channels == logits.count else {
            return "cross_entropy: \(targets.count) targets do not match logits \(logits.shape) (expected one per position)"
        }
        if let classWeights, classWeights.count != channels {
            return "cross_entropy: \(classWeights.count) class weights for \(channels) classes"
        }
        for (position, target) in targets.enumerated() where target != ignoreIndex && !(0..<Int32(channels)).contains(target) {
            return "cross_entropy: target \(target) at position \(position) is not a class in 0..<\(channels)"
        }
        return nil
    }

    /// The weight of each position and their sum; checks shapes and target range.
    private static func positionWeights(
        logits: Tensor, targets: [Int32], classWeights: [Float]?, ignoreIndex: Int32?
    ) -> (weights: [Float], total: Double) {
        let problem = mismatch(logits: logits, targets: targets, classWeights: classWeights, ignoreIndex: ignoreIndex)
        require(problem == nil, problem!)
        var weights = [Float](repeating: 0, count: targets.count)
        var total = 0.0
        for (position, target) in targets.enumerated() {
            if let ignoreIndex, target == ignoreIndex { continue }
            let weight = classWeights?[Int(target)] ?? 1
            weights[position] = weight
            total += Double(weight)
        }
        return (weights, total)
    }
}
