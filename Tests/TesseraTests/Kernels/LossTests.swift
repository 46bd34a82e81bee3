import Foundation
import Testing
import Tessera

@Suite("loss kernels")
struct LossTests {
    static func integerTargets(_ file: SafeTensors, _ name: String) -> [Int32] {
        file.integerTensors[name]!.values.map { Int32($0) }
    }

    @Test("BCE-with-logits equals PyTorch and stays finite for extreme logits")
    func binaryCrossEntropy() throws {
        let file = try Fixtures.load("losses.safetensors")
        let logits = try file.tensor("bce.logits"), targets = try file.tensor("bce.targets")
        expectMatchesReference(
            Tensor([BinaryCrossEntropyWithLogits.value(logits: logits, targets: targets)]), try file.tensor("bce.loss"), "bce loss")
        expectMatchesReference(BinaryCrossEntropyWithLogits.gradient(logits: logits, targets: targets), try file.tensor("bce.grad"), "bce grad")
        let extreme = BinaryCrossEntropyWithLogits.value(logits: Tensor([1000, -1000]), targets: Tensor([0, 1]))
        #expect(extreme.isFinite && abs(extreme - 1000) < 1e-3)
    }

    @Test("weighted BCE-with-logits is the mean of the weighted terms, and its gradient matches finite differences")
    func weightedBinaryCrossEntropy() {
        var generator = RandomGenerator(seed: 12)
        let logits = Tensor.normal([2, 1, 4, 5], using: &generator) * 3
        let targets = Tensor.uniform([2, 1, 4, 5], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let weights = Tensor.uniform([2, 1, 4, 5], low: 0.5, high: 10, using: &generator)
        let (x, t, w) = (logits.scalars, targets.scalars, weights.scalars)
        let terms: [Double] = x.indices.map { i in
            let term: Float = max(x[i], 0) - x[i] * t[i] + log1p(exp(-abs(x[i])))
            return Double(w[i]) * Double(term)
        }
        let value = binaryCrossEntropyWithLogits(logits, targets, weights: weights).scalar
        #expect(abs(Double(value) - terms.reduce(0, +) / 40) < 1e-5)
        let (_, gradients) = valueAndGradient(at: [logits]) { binaryCrossEntropyWithLogits($0[0], targets, weights: weights) }
        let failure = GradientCheck.mismatch(analytic: gradients[0], at: logits, step: 1e-2) {
            Double(binaryCrossEntropyWithLogits($0, targets, weights: weights).scalar)
        }
        #expect(failure == nil, "\(failure ?? "")")
    }

    @Test("cross-entropy equals PyTorch, plain and with class weights and an ignore index")
    func crossEntropy() throws {
        let file = try Fixtures.load("losses.safetensors")
        let logits = try file.tensor("ce.logits")
        let plain = Self.integerTargets(file, "ce.targets")
        expectMatchesReference(Tensor([CrossEntropy.value(logits: logits, targets: plain)]), try file.tensor("ce.loss"), "ce loss")
        expectMatchesReference(CrossEntropy.gradient(logits: logits, targets: plain), try file.tensor("ce.grad"), "ce grad")
        let weighted = Self.integerTargets(file, "ce_weighted.targets")
        let weights = try file.tensor("ce_weighted.weights").scalars
        expectMatchesReference(
            Tensor([CrossEntropy.value(logits: logits, targets: weighted, classWeights: weights, ignoreIndex: 255)]),
            try file.tensor("ce_weighted.loss"), "weighted ce loss")
        expectMatchesReference(
            CrossEntropy.gradient(logits: logits, targets: weighted, classWeights: weights, ignoreIndex: 255),
            try file.tensor("ce_weighted.grad"), "weighted ce grad")
    }

    @Test("soft Dice equals Pytorch-UNet's dice_loss for one class")
    func diceMatchesPytorchUNet() throws {
        let file = try Fixtures.load("losses.safetensors")
        let p = try file.tensor("dice.probabilities"), t = try file.tensor("dice.targets")
        expectMatchesReference(Tensor([SoftDice.value(probabilities: p, targets: t)]), try file.tensor("dice.loss"), "dice loss")
        expectMatchesReference(SoftDice.gradient(probabilities: p, targets: t), try file.tensor("dice.grad"), "dice grad")
    }

    @Test("soft Dice gradient matches finite differences for several classes")
    func diceFiniteDifferences() {
        var generator = RandomGenerator(seed: 9)
        let p = Tensor.uniform([2, 3, 4, 4], using: &generator)
        let t = Tensor.uniform([2, 3, 4, 4], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let failure = GradientCheck.mismatch(analytic: SoftDice.gradient(probabilities: p, targets: t), at: p, step: 1e-3) {
            Double(SoftDice.value(probabilities: $0, targets: t))
        }
        #expect(failure == nil, "\(failure ?? "")")
    }

    @Test("Dice is 1 for empty prediction and empty target, 0 for disjoint ones, always in [0, 1]")
    func diceRange() {
        let empty = Tensor.zeros([1, 1, 4, 4])
        #expect(SoftDice.coefficients(probabilities: empty, targets: empty) == [1])
        let left = Tensor(shape: [1, 1, 1, 2], scalars: [1, 0]), right = Tensor(shape: [1, 1, 1, 2], scalars: [0, 1])
        #expect(SoftDice.coefficients(probabilities: left, targets: right)[0] < 1e-5)
        var generator = RandomGenerator(seed: 10)
        for _ in 0..<20 {
            let p = Tensor.uniform([2, 2, 3, 3], using: &generator)
            let t = Tensor.uniform([2, 2, 3, 3], using: &generator).map { $0 > 0.7 ? 1 : 0 }
            #expect(SoftDice.coefficients(probabilities: p, targets: t).allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }

    @Test("BCE and cross-entropy gradients match finite differences")
    func finiteDifferences() {
        var generator = RandomGenerator(seed: 11)
        let logits = Tensor.normal([2, 1, 3, 3], standardDeviation: 2, using: &generator)
        let targets = Tensor.uniform(logits.shape, using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let bce = GradientCheck.mismatch(analytic: BinaryCrossEntropyWithLogits.gradient(logits: logits, targets: targets), at: logits, step: 1e-2) {
            Double(BinaryCrossEntropyWithLogits.value(logits: $0, targets: targets))
        }
        let classLogits = Tensor.normal([2, 3, 2, 2], using: &generator)
        let labels: [Int32] = [0, 1, 2, 1, 2, 2, 0, 0]
        let ce = GradientCheck.mismatch(
            analytic: CrossEntropy.gradient(logits: classLogits, targets: labels, classWeights: [1, 2, 0.5]), at: classLogits, step: 1e-2
        ) { Double(CrossEntropy.value(logits: $0, targets: labels, classWeights: [1, 2, 0.5])) }
        #expect(bce == nil, "\(bce ?? "")")
        #expect(ce == nil, "\(ce ?? "")")
    }
}
