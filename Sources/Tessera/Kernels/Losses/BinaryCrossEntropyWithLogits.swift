import Foundation

/// Binary cross-entropy on logits, averaged over all elements (PyTorch's
/// `binary_cross_entropy_with_logits`, reduction "mean"):
/// `ℓ = mean(w · (max(x, 0) − x·t + log(1 + e^{−|x|})))`, stable for any logit, with
/// per-element weights `w` (PyTorch's `weight`; 1 without).
public enum BinaryCrossEntropyWithLogits {
    /// The mean loss of `logits` against `targets` in [0, 1] of the same shape.
    public static func value(logits: Tensor, targets: Tensor, weights: Tensor? = nil) -> Float {
        check(logits, targets, weights)
        nonisolated(unsafe) let x = logits.storage.pointer, t = targets.storage.pointer, w = weights?.storage.pointer
        // One Double partial sum per slice of at most 2^14 elements, in parallel; then
        // the partial sums in order.
        let sliceLength = 1 << 14, slices = (logits.count + sliceLength - 1) / sliceLength
        var partials = [Double](repeating: 0, count: slices)
        partials.withUnsafeMutableBufferPointer { partials in
            nonisolated(unsafe) let partials = partials
            Parallel.forEach(slices) { slice in
                var total = 0.0
                for index in slice * sliceLength..<min((slice + 1) * sliceLength, logits.count) {
                    let v = x[index]
                    total += Double((w?[index] ?? 1) * (max(v, 0) - v * t[index] + log1p(exp(-abs(v)))))
                }
                partials[slice] = total
            }
        }
        return Float(partials.reduce(0, +) / Double(logits.count))
    }

    /// `∂ℓ/∂x = w · (σ(x) − t) / count`.
    public static func gradient(logits: Tensor, targets: Tensor, weights: Tensor? = nil) -> Tensor {
        check(logits, targets, weights)
        let scale = 1 / Float(logits.count)
        let gradient = Activation.binary(logits, targets, operation: "binary_cross_entropy_with_logits") { x, t in
            (1 / (1 + exp(-x)) - t) * scale
        }
        return weights.map { gradient * $0 } ?? gradient
    }

    /// What is wrong with the operands' shapes, or nil when they fit.
    package static func mismatch(logits: Tensor, targets: Tensor, weights: Tensor?) -> String? {
        logits.shape == targets.shape && logits.count > 0 && (weights.map { $0.shape == logits.shape } ?? true) ? nil
            : "binary_cross_entropy_with_logits: logits \(logits.shape), targets \(targets.shape) and weights \(weights?.shape ?? logits.shape) must have the same non-empty shape"
    }

    private static func check(_ logits: Tensor, _ targets: Tensor, _ weights: Tensor?) {
        let problem = mismatch(logits: logits, targets: targets, weights: weights)
        require(problem == nil, problem!)
    }
}
