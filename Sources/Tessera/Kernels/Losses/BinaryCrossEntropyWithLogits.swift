import Foundation

/// Binary cross-entropy on logits, averaged over all elements (PyTorch's
/// `binary_cross_entropy_with_logits`, reduction "mean"):
/// `ℓ = mean(max(x, 0) − x·t + log(1 + e^{−|x|}))`, stable for any logit.
public enum BinaryCrossEntropyWithLogits {
    /// The mean loss of `logits` against `targets` in [0, 1] of the same shape.
    public static func value(logits: Tensor, targets: Tensor) -> Float {
        check(logits, targets)
        let x = logits.storage.pointer, t = targets.storage.pointer
        var total = 0.0
        for index in 0..<logits.count {
            let v = x[index]
            total += Double(max(v, 0) - v * t[index] + log1p(exp(-abs(v))))
        }
        return Float(total / Double(logits.count))
    }

    /// `∂ℓ/∂x = (σ(x) − t) / count`.
    public static func gradient(logits: Tensor, targets: Tensor) -> Tensor {
        check(logits, targets)
        let scale = 1 / Float(logits.count)
        return Activation.binary(logits, targets, operation: "binary_cross_entropy_with_logits") { x, t in
            (1 / (1 + exp(-x)) - t) * scale
        }
    }

    private static func check(_ logits: Tensor, _ targets: Tensor) {
        require(
            logits.shape == targets.shape && logits.count > 0,
            "binary_cross_entropy_with_logits: logits \(logits.shape) and targets \(targets.shape) must have the same non-empty shape")
    }
}
