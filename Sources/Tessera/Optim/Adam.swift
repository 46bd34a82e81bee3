import Foundation

/// Adam with PyTorch's semantics (`torch.optim.Adam`): bias-corrected first and second
/// moments (unlike mlx-swift's default, which skips the correction), ε added after the
/// square root, and L2 weight decay added to the gradient. ``AdamW`` decouples the decay.
public class Adam: Optimizer {
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    /// Whether weight decay shrinks the weights directly (AdamW) instead of entering the gradient.
    let decoupledWeightDecay: Bool

    public convenience init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.init(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupled: false)
    }

    init(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, decoupled: Bool) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        decoupledWeightDecay = decoupled
        super.init(learningRate: learningRate)
    }

    public override func update(parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor], step: Int) {
        var average = state.removeValue(forKey: "exp_avg") ?? Tensor(shape: parameter.shape, repeating: 0)
        var squareAverage = state.removeValue(forKey: "exp_avg_sq") ?? Tensor(shape: parameter.shape, repeating: 0)
        let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon)
        let stepSize = learningRate / (1 - pow(beta1, Float(step)))
        let correction2Root = (1 - pow(beta2, Float(step))).squareRoot()
        let couplingDecay = decoupledWeightDecay ? 0 : weightDecay
        let shrink = decoupledWeightDecay ? 1 - learningRate * weightDecay : 1
        parameter.withUnsafeMutableBufferPointer { p in
            average.withUnsafeMutableBufferPointer { m in
                squareAverage.withUnsafeMutableBufferPointer { v in
                    gradient.withUnsafeBufferPointer { g in
                        let count = p.count
                        nonisolated(unsafe) let (p, m, v, g) = (p.baseAddress!, m.baseAddress!, v.baseAddress!, g.baseAddress!)
                        Optimizer.forEachSlice(count: count) { range in
                            LaneAccess.forEachGroup(range) { i, count in
                                var weight = LaneAccess.load(p + i, count: count) * shrink
                                let d = LaneAccess.load(g + i, count: count) + couplingDecay * weight
                                var first = LaneAccess.load(m + i, count: count)
                                first += (d - first) * (1 - beta1)
                                let second = LaneAccess.load(v + i, count: count) * beta2 + (1 - beta2) * d * d
                                weight -= stepSize * first / (second.squareRoot() / correction2Root + epsilon)
                                LaneAccess.store(weight, to: p + i, count: count)
                                LaneAccess.store(first, to: m + i, count: count)
                                LaneAccess.store(second, to: v + i, count: count)
                            }
                        }
                    }
                }
            }
        }
        state["exp_avg"] = average
        state["exp_avg_sq"] = squareAverage
    }
}

/// Adam with decoupled weight decay (`torch.optim.AdamW`): each step first shrinks the
/// weights by `learningRate · weightDecay`, then takes a plain Adam step.
public final class AdamW: Adam {
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 1e-2) {
        super.init(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupled: true)
    }
}
