/// Soft Dice loss on probabilities `[N, C, …]` against targets of the same shape (binary
/// masks for one channel, one-hot for several):
/// `Diceᶜ = (2·Σ pᶜtᶜ + ε) / (Σ pᶜ + Σ tᶜ + ε)` summed over the batch and positions of
/// class `c`, and `ℓ = 1 − mean_c Diceᶜ`.
///
/// ε = 1e-6 as in Pytorch-UNet; when a class is absent from both prediction and target its
/// Dice is 1. With probabilities and targets in [0, 1], every Dice lies in [0, 1]. For one
/// channel this equals Pytorch-UNet's `dice_loss`; for several it is the mean of the
/// per-class scores (Pytorch-UNet pools all classes into one score instead).
public enum SoftDice {
    /// Pytorch-UNet's smoothing term.
    public static let epsilon: Float = 1e-6

    /// The per-class Dice coefficients.
    public static func coefficients(probabilities: Tensor, targets: Tensor) -> [Float] {
        sums(probabilities, targets).map { intersection, total in
            total == 0 ? 1 : Float((2 * intersection + Double(epsilon)) / (total + Double(epsilon)))
        }
    }

    /// `1 − mean_c Diceᶜ`.
    public static func value(probabilities: Tensor, targets: Tensor) -> Float {
        let dice = coefficients(probabilities: probabilities, targets: targets)
        return 1 - dice.reduce(0, +) / Float(dice.count)
    }

    /// `∂ℓ/∂pᶜ = −(2tᶜ·(S + ε) − (2I + ε)) / ((S + ε)² · C)` with `I = Σ pᶜtᶜ`,
    /// `S = Σ pᶜ + Σ tᶜ` of the class (0 for a class with `S = 0`).
    public static func gradient(probabilities: Tensor, targets: Tensor) -> Tensor {
        let classSums = sums(probabilities, targets)
        let batch = probabilities.shape[0], channels = probabilities.shape[1]
        let plane = probabilities.count / (batch * channels)
        let result = Tensor(uninitializedShape: probabilities.shape)
        let t = targets.storage.pointer, g = result.storage.pointer
        for c in 0..<channels {
            let (intersection, total) = classSums[c]
            let denominator = total + Double(epsilon)
            let numerator = 2 * intersection + Double(epsilon)
            let scale = total == 0 ? 0 : -1 / (denominator * denominator * Double(channels))
            for image in 0..<batch {
                let offset = (image * channels + c) * plane
                for index in offset..<(offset + plane) {
                    g[index] = Float(scale * (2 * Double(t[index]) * denominator - numerator))
                }
            }
        }
        return result
    }

    /// What is wrong with the operands' shapes, or nil when they fit.
    package static func mismatch(probabilities: Tensor, targets: Tensor) -> String? {
        probabilities.shape == targets.shape && probabilities.rank >= 2 && probabilities.count > 0 ? nil
            : "soft_dice: probabilities \(probabilities.shape) and targets \(targets.shape) must have the same shape [N, C, …]"
    }

    /// `(Σ p·t, Σ p + Σ t)` per class.
    private static func sums(_ probabilities: Tensor, _ targets: Tensor) -> [(Double, Double)] {
        let problem = mismatch(probabilities: probabilities, targets: targets)
        require(problem == nil, problem!)
        let batch = probabilities.shape[0], channels = probabilities.shape[1]
        let plane = probabilities.count / (batch * channels)
        let p = probabilities.storage.pointer, t = targets.storage.pointer
        return (0..<channels).map { c in
            var intersection = 0.0, total = 0.0
            for image in 0..<batch {
                let offset = (image * channels + c) * plane
                var partialIntersection: Float = 0, partialTotal: Float = 0
                for index in offset..<(offset + plane) {
                    partialIntersection += p[index] * t[index]
                    partialTotal += p[index] + t[index]
                }
                intersection += Double(partialIntersection)
                total += Double(partialTotal)
            }
            return (intersection, total)
        }
    }
}
