import Testing
import Tessera

@Suite("max pooling, padding, bilinear up-sampling, concatenation")
struct PoolingAndResamplingTests {
    @Test("max pooling and its arg-max backward equal PyTorch's max_pool2d")
    func maxPoolMatchesPyTorch() throws {
        for reference in try FixtureCase.all(in: "max_pool2d.safetensors") {
            let kernel = Size2D(reference.integer("kernel")), stride = Size2D(reference.integer("stride"))
            let x = try reference.tensor("input")
            let pooled = MaxPooling2D.forward(input: x, kernelSize: kernel, stride: stride)
            expectMatchesReference(pooled.output, try reference.tensor("output"), "\(reference) output")
            expectMatchesReference(
                MaxPooling2D.backward(gradientOfOutput: try reference.tensor("grad_output"), argmax: pooled.argmax, inputShape: x.shape),
                try reference.tensor("grad_input"), "\(reference) grad_input")
        }
    }

    @Test("pooling without a gradient scope gives the same values as with one, NaNs included")
    func maximaWithoutArgmax() throws {
        for reference in try FixtureCase.all(in: "max_pool2d.safetensors") {
            let kernel = Size2D(reference.integer("kernel")), stride = Size2D(reference.integer("stride"))
            var x = try reference.tensor("input")
            x.withUnsafeMutableBufferPointer { $0[1] = .nan; $0[$0.count - 1] = .nan }
            let recorded = MaxPooling2D.forward(input: x, kernelSize: kernel, stride: stride).output
            let maxima = maxPool2d(x, kernelSize: kernel, stride: stride)
            #expect(maxima.shape == recorded.shape)
            #expect(zip(maxima.scalars, recorded.scalars).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(reference)")
            #expect(maxima.scalars.contains { $0.isNaN })
        }
    }

    /// Rows long enough for 2×2 pooling to take eight windows at a time, with ties,
    /// signed zeros, infinities and NaNs (each rule of the scalar loop) inside such groups.
    @Test("2×2 pooling eight windows at a time gives the scalar loop's values bit for bit")
    func vectorisedHalvingMatchesScalar() {
        var generator = RandomGenerator(seed: 3)
        var x = Tensor.uniform([2, 3, 10, 37], low: -1, high: 1, using: &generator).map { ($0 * 4).rounded() / 4 }
        x.withUnsafeMutableBufferPointer { values in
            for (index, value) in [(0, Float(0.0)), (1, -0.0), (37, -0.0), (38, 0.0), (2, -.infinity), (3, -.infinity),
                                   (39, -.infinity), (40, -.infinity), (100, .infinity), (450, .nan), (488, -.nan)] {
                values[index] = value
            }
        }
        let recorded = MaxPooling2D.forward(input: x).output
        let maxima = maxPool2d(x)
        #expect(maxima.shape == [2, 3, 5, 18])
        #expect(zip(maxima.scalars, recorded.scalars).allSatisfy { $0.bitPattern == $1.bitPattern })
        #expect(maxima.scalars.contains { $0.isNaN } && maxima.scalars.contains { $0 == -.infinity })
    }

    @Test("max pooling backward matches finite differences")
    func maxPoolFiniteDifferences() {
        // Distinct, well-separated values so that no perturbation changes the arg-max.
        var generator = RandomGenerator(seed: 2)
        var values = Array(0..<(2 * 3 * 6 * 5)).map { Float($0) * 0.1 }
        values.shuffle(using: &generator)
        let x = Tensor(shape: [2, 3, 6, 5], scalars: values)
        let pooled = MaxPooling2D.forward(input: x)
        let probe = Tensor.normal(pooled.output.shape, using: &generator)
        let dx = MaxPooling2D.backward(gradientOfOutput: probe, argmax: pooled.argmax, inputShape: x.shape)
        let failure = GradientCheck.mismatch(analytic: dx, at: x, step: 1e-2) {
            GradientCheck.weightedSum(MaxPooling2D.forward(input: $0).output, probe)
        }
        #expect(failure == nil, "\(failure ?? "")")
    }

    @Test("bilinear ×2 with align_corners equals PyTorch's interpolate, forward and backward")
    func upsampleMatchesPyTorch() throws {
        for reference in try FixtureCase.all(in: "upsample_bilinear2d.safetensors") {
            let x = try reference.tensor("input")
            expectMatchesReference(BilinearUpsampling.forward(x), try reference.tensor("output"), "\(reference) output")
            expectMatchesReference(
                BilinearUpsampling.backward(gradientOfOutput: try reference.tensor("grad_output"), inputShape: x.shape),
                try reference.tensor("grad_input"), "\(reference) grad_input")
        }
    }

    @Test("bilinear backward matches finite differences")
    func upsampleFiniteDifferences() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.normal([1, 2, 5, 4], using: &generator)
        let probe = Tensor.normal([1, 2, 10, 8], using: &generator)
        let dx = BilinearUpsampling.backward(gradientOfOutput: probe, inputShape: x.shape)
        let failure = GradientCheck.mismatch(analytic: dx, at: x) { GradientCheck.weightedSum(BilinearUpsampling.forward($0), probe) }
        #expect(failure == nil, "\(failure ?? "")")
    }

    @Test("padding places the image inside zeros; its backward crops the gradient")
    func padding() {
        let x = Tensor.arange(6, start: 1).reshaped([1, 1, 2, 3])
        let amounts = SpatialPadding.Amounts(centering: [2, 3], in: [5, 4])
        #expect(amounts == SpatialPadding.Amounts(top: 1, bottom: 2, left: 0, right: 1))
        let padded = SpatialPadding.pad(x, amounts)
        #expect(padded.shape == [1, 1, 5, 4])
        #expect(padded.scalars == [0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        var generator = RandomGenerator(seed: 1)
        let probe = Tensor.normal(padded.shape, using: &generator)
        let failure = GradientCheck.mismatch(analytic: SpatialPadding.unpad(probe, amounts), at: x) {
            GradientCheck.weightedSum(SpatialPadding.pad($0, amounts), probe)
        }
        #expect(failure == nil, "\(failure ?? "")")
    }

    @Test("concatenation stacks channels per image and split inverts it")
    func concatenation() {
        let a = Tensor.arange(8).reshaped([2, 1, 2, 2])
        let b = Tensor.arange(16, start: 100).reshaped([2, 2, 2, 2])
        let joined = ChannelConcatenation.concatenate([a, b])
        #expect(joined.shape == [2, 3, 2, 2])
        #expect(joined[1, 0, 1, 1] == a[1, 0, 1, 1])
        #expect(joined[1, 2, 0, 1] == b[1, 1, 0, 1])
        let parts = ChannelConcatenation.split(joined, channelCounts: [1, 2])
        #expect(parts[0] == a && parts[1] == b)
    }
}
