import Tessera

/// Central finite differences against analytic gradients, shared by every backward test.
///
/// For a scalar loss `L(x)`, each checked element satisfies
/// `|g_analytic − (L(x + h) − L(x − h)) / 2h| ≤ atol + rtol · max(|g_analytic|, |g_numeric|)`.
/// The loss is evaluated in `Double` so that Float rounding of the forward pass does not
/// swamp the difference quotient; the step is large enough (1e-2) for Float inputs and the
/// tolerance (1 %) small enough that any wrong term — a missing factor, a transposed index —
/// fails.
enum GradientCheck {
    /// `Σ weights ⊙ tensor` in Double: a scalar loss whose gradient w.r.t. `tensor` is `weights`.
    static func weightedSum(_ tensor: Tensor, _ weights: Tensor) -> Double {
        precondition(tensor.shape == weights.shape, "weightedSum: \(tensor.shape) vs \(weights.shape)")
        let a = tensor.scalars, b = weights.scalars
        var total = 0.0
        for index in a.indices { total += Double(a[index]) * Double(b[index]) }
        return total
    }

    /// Returns nil when `analytic` matches the numerical gradient of `loss` at `point`,
    /// otherwise a description of the worst element.
    ///
    /// - Parameter samples: how many elements to check (spread evenly); all when fewer.
    static func mismatch(
        analytic: Tensor, at point: Tensor, step: Float = 1e-2,
        relativeTolerance: Double = 1e-2, absoluteTolerance: Double = 1e-3,
        samples: Int = 150, loss: (Tensor) -> Double
    ) -> String? {
        precondition(analytic.shape == point.shape, "GradientCheck: gradient \(analytic.shape) vs point \(point.shape)")
        let stride = max(1, point.count / samples)
        let gradient = analytic.scalars
        var flat = point.scalars
        for index in Swift.stride(from: 0, to: point.count, by: stride) {
            let original = flat[index]
            flat[index] = original + step
            let plus = loss(Tensor(shape: point.shape, scalars: flat))
            flat[index] = original - step
            let minus = loss(Tensor(shape: point.shape, scalars: flat))
            flat[index] = original
            let numeric = (plus - minus) / (2 * Double(step))
            let expected = Double(gradient[index])
            let allowed = absoluteTolerance + relativeTolerance * max(abs(numeric), abs(expected))
            if abs(numeric - expected) > allowed || !expected.isFinite {
                return "element \(index) of \(point.shape): analytic \(expected), numeric \(numeric)"
            }
        }
        return nil
    }
}
