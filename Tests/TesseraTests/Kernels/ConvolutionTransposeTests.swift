import Testing
import Tessera

@Suite("conv_transpose2d")
struct ConvolutionTransposeTests {
    /// (kernel, stride, padding, outputPadding)
    static let table: [(Int, Int, Int, Int)] = [(2, 2, 0, 0), (3, 2, 1, 1), (3, 1, 1, 0), (1, 1, 0, 0), (4, 2, 1, 0)]

    @Test("is the adjoint of conv2d: ⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩", arguments: table)
    func adjointOfConvolution(kernel: Int, stride: Int, padding: Int, outputPadding: Int) {
        var generator = RandomGenerator(seed: 4)
        let weight = Tensor.normal([3, 5, kernel, kernel], using: &generator)  // conv: 5 → 3; transposed: 3 → 5
        let y = Tensor.normal([2, 3, 6, 5], using: &generator)
        let transposed = ConvolutionTranspose2D.forward(
            input: y, weight: weight, stride: Size2D(stride), padding: Size2D(padding), outputPadding: Size2D(outputPadding))
        let x = Tensor.normal(transposed.shape, using: &generator)
        let convolved = Convolution2D.forward(input: x, weight: weight, stride: Size2D(stride), padding: Size2D(padding))
        #expect(convolved.shape == y.shape)
        let lhs = GradientCheck.weightedSum(convolved, y), rhs = GradientCheck.weightedSum(x, transposed)
        #expect(abs(lhs - rhs) <= 1e-4 * max(1, abs(lhs)))
    }

    @Test("backward passes match finite differences", arguments: table)
    func finiteDifferences(kernel: Int, stride: Int, padding: Int, outputPadding: Int) {
        var generator = RandomGenerator(seed: 5)
        let s = Size2D(stride), p = Size2D(padding), op = Size2D(outputPadding)
        let x = Tensor.normal([2, 3, 4, 5], using: &generator)
        let weight = Tensor.normal([3, 2, kernel, kernel], using: &generator)
        let bias = Tensor.normal([2], using: &generator)
        let probe = Tensor.normal(
            ConvolutionTranspose2D.forward(input: x, weight: weight, stride: s, padding: p, outputPadding: op).shape, using: &generator)
        func loss(_ x: Tensor, _ weight: Tensor, _ bias: Tensor) -> Double {
            GradientCheck.weightedSum(
                ConvolutionTranspose2D.forward(input: x, weight: weight, bias: bias, stride: s, padding: p, outputPadding: op), probe)
        }
        let dx = ConvolutionTranspose2D.backwardData(
            gradientOfOutput: probe, weight: weight, inputShape: x.shape, stride: s, padding: p, outputPadding: op)
        let dw = ConvolutionTranspose2D.backwardWeight(
            gradientOfOutput: probe, input: x, weightShape: weight.shape, stride: s, padding: p, outputPadding: op)
        let db = ConvolutionTranspose2D.backwardBias(gradientOfOutput: probe)
        let failures = [
            GradientCheck.mismatch(analytic: dx, at: x) { loss($0, weight, bias) },
            GradientCheck.mismatch(analytic: dw, at: weight) { loss(x, $0, bias) },
            GradientCheck.mismatch(analytic: db, at: bias) { loss(x, weight, $0) },
        ]
        #expect(failures.allSatisfy { $0 == nil }, "\(failures)")
    }

    @Test("forward and every gradient equal PyTorch's conv_transpose2d")
    func matchesPyTorch() throws {
        for reference in try FixtureCase.all(in: "conv_transpose2d.safetensors") {
            let s = Size2D(reference.integer("stride")), p = Size2D(reference.integer("padding"))
            let op = Size2D(reference.integer("output_padding"))
            let x = try reference.tensor("input"), weight = try reference.tensor("weight"), bias = try reference.tensor("bias")
            let dy = try reference.tensor("grad_output")
            expectMatchesReference(
                ConvolutionTranspose2D.forward(input: x, weight: weight, bias: bias, stride: s, padding: p, outputPadding: op),
                try reference.tensor("output"), "\(reference) output")
            expectMatchesReference(
                ConvolutionTranspose2D.backwardData(gradientOfOutput: dy, weight: weight, inputShape: x.shape, stride: s, padding: p, outputPadding: op),
                try reference.tensor("grad_input"), "\(reference) grad_input")
            expectMatchesReference(
                ConvolutionTranspose2D.backwardWeight(gradientOfOutput: dy, input: x, weightShape: weight.shape, stride: s, padding: p, outputPadding: op),
                try reference.tensor("grad_weight"), "\(reference) grad_weight")
            expectMatchesReference(ConvolutionTranspose2D.backwardBias(gradientOfOutput: dy), try reference.tensor("grad_bias"), "\(reference) grad_bias")
        }
    }
}
