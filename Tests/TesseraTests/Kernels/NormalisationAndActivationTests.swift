import Testing
import Tessera

@Suite("batch norm, activations, softmax")
struct NormalisationAndActivationTests {
    @Test("batch norm (train and eval) equals PyTorch: output, running statistics, all gradients")
    func batchNormMatchesPyTorch() throws {
        for reference in try FixtureCase.all(in: "batch_norm.safetensors") {
            let x = try reference.tensor("input"), weight = try reference.tensor("weight"), bias = try reference.tensor("bias")
            var runningMean = try reference.tensor("running_mean"), runningVariance = try reference.tensor("running_var")
            let (output, saved) = reference.flag("training")
                ? BatchNormalization.trainingForward(
                    input: x, weight: weight, bias: bias, runningMean: &runningMean, runningVariance: &runningVariance)
                : BatchNormalization.inferenceForward(
                    input: x, weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance)
            expectMatchesReference(output, try reference.tensor("output"), "\(reference) output")
            expectMatchesReference(runningMean, try reference.tensor("running_mean_after"), "\(reference) running_mean")
            expectMatchesReference(runningVariance, try reference.tensor("running_var_after"), "\(reference) running_var")
            let gradients = BatchNormalization.backward(
                gradientOfOutput: try reference.tensor("grad_output"), input: x, weight: weight, saved: saved)
            expectMatchesReference(gradients.input, try reference.tensor("grad_input"), "\(reference) grad_input")
            expectMatchesReference(gradients.weight, try reference.tensor("grad_weight"), "\(reference) grad_weight")
            expectMatchesReference(gradients.bias, try reference.tensor("grad_bias"), "\(reference) grad_bias")
        }
    }

    /// Planes of 12 elements run only the scalar tails of the 16-lane loops; 35 run both.
    @Test("batch norm backward matches finite differences in training mode", arguments: [[3, 2, 4, 3], [2, 2, 5, 7]])
    func batchNormFiniteDifferences(shape: [Int]) {
        var generator = RandomGenerator(seed: 6)
        let x = Tensor.normal(shape, mean: 1, standardDeviation: 2, using: &generator)
        let weight = Tensor.normal([2], using: &generator), bias = Tensor.normal([2], using: &generator)
        let probe = Tensor.normal(x.shape, using: &generator)
        func loss(_ x: Tensor, _ weight: Tensor, _ bias: Tensor) -> Double {
            var mean = Tensor.zeros([2]), variance = Tensor.ones([2])
            return GradientCheck.weightedSum(
                BatchNormalization.trainingForward(input: x, weight: weight, bias: bias, runningMean: &mean, runningVariance: &variance).output,
                probe)
        }
        var mean = Tensor.zeros([2]), variance = Tensor.ones([2])
        let saved = BatchNormalization.trainingForward(input: x, weight: weight, bias: bias, runningMean: &mean, runningVariance: &variance).saved
        let gradients = BatchNormalization.backward(gradientOfOutput: probe, input: x, weight: weight, saved: saved)
        let failures = [
            GradientCheck.mismatch(analytic: gradients.input, at: x) { loss($0, weight, bias) },
            GradientCheck.mismatch(analytic: gradients.weight, at: weight) { loss(x, $0, bias) },
            GradientCheck.mismatch(analytic: gradients.bias, at: bias) { loss(x, weight, $0) },
        ]
        #expect(failures.allSatisfy { $0 == nil }, "\(failures)")
    }

    /// Planes of 35 and 40 elements: groups of sixteen lanes and a remainder, with a NaN,
    /// negative zeros (which β = −0 keeps at −0 before the ReLU) and values on both sides
    /// of the kink.
    @Test("fused batch norm + ReLU forward equals batch norm followed by ReLU bit for bit", arguments: [[2, 3, 5, 7], [1, 2, 5, 8]])
    func fusedRectifiedForward(shape: [Int]) {
        var generator = RandomGenerator(seed: 8)
        var x = Tensor.normal(shape, using: &generator)
        x.withUnsafeMutableBufferPointer { values in
            values[3] = .nan
            for index in stride(from: 5, to: values.count, by: 9) { values[index] = -0.0 }
        }
        let channels = shape[1]
        let weight = Tensor.normal([channels], using: &generator)
        let bias = Tensor(shape: [channels], repeating: -0.0)
        let mean = Tensor(shape: [channels], repeating: 0), variance = Tensor.uniform([channels], low: 0.5, high: 2, using: &generator)
        func normalised(rectify: Bool) -> Tensor {
            BatchNormalization.inferenceForward(
                input: x, weight: weight, bias: bias, runningMean: mean, runningVariance: variance, rectify: rectify).output
        }
        let fused = normalised(rectify: true), composed = Activation.relu(normalised(rectify: false))
        #expect(zip(fused.scalars, composed.scalars).allSatisfy { $0.bitPattern == $1.bitPattern })
        #expect(fused.scalars.contains { $0.isNaN } && fused.scalars.contains { $0 > 0 } && fused.scalars.contains(0))
    }

    @Test("fused batch norm + ReLU backward equals ReLU backward followed by batch norm backward", arguments: [true, false])
    func fusedRectifiedBackward(training: Bool) {
        var generator = RandomGenerator(seed: 7)
        let x = Tensor.normal([2, 3, 5, 7], using: &generator)
        let weight = Tensor.normal([3], using: &generator), bias = Tensor.normal([3], using: &generator)
        let gradient = Tensor.normal(x.shape, using: &generator)
        var mean = Tensor.normal([3], using: &generator), variance = Tensor.uniform([3], low: 0.5, high: 2, using: &generator)
        let (output, saved) = training
            ? BatchNormalization.trainingForward(
                input: x, weight: weight, bias: bias, runningMean: &mean, runningVariance: &variance, rectify: true)
            : BatchNormalization.inferenceForward(
                input: x, weight: weight, bias: bias, runningMean: mean, runningVariance: variance, rectify: true)
        #expect(output.scalars.contains(0) && output.scalars.contains { $0 > 0 })
        let fused = BatchNormalization.backward(gradientOfOutput: gradient, input: x, weight: weight, saved: saved, rectifiedOutput: output)
        let masked = Activation.reluBackward(gradientOfOutput: gradient, output: output)
        let composed = BatchNormalization.backward(gradientOfOutput: masked, input: x, weight: weight, saved: saved)
        #expect(fused.input.maximumAbsoluteDifference(to: composed.input) < 1e-5)
        #expect(fused.weight.maximumAbsoluteDifference(to: composed.weight) < 1e-5)
        #expect(fused.bias.maximumAbsoluteDifference(to: composed.bias) < 1e-5)
    }

    @Test("ReLU and sigmoid backward match finite differences")
    func activations() {
        var generator = RandomGenerator(seed: 7)
        // Keep ReLU inputs away from its kink at 0.
        let x = Tensor.normal([2, 3, 4, 4], using: &generator).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        let probe = Tensor.normal(x.shape, using: &generator)
        let relu = Activation.reluBackward(gradientOfOutput: probe, output: Activation.relu(x))
        let sigmoid = Activation.sigmoidBackward(gradientOfOutput: probe, output: Activation.sigmoid(x))
        let failures = [
            GradientCheck.mismatch(analytic: relu, at: x, step: 1e-2) { GradientCheck.weightedSum(Activation.relu($0), probe) },
            GradientCheck.mismatch(analytic: sigmoid, at: x) { GradientCheck.weightedSum(Activation.sigmoid($0), probe) },
        ]
        #expect(failures.allSatisfy { $0 == nil }, "\(failures)")
        #expect(Activation.relu(Tensor([-1, 0, 2])).scalars == [0, 0, 2])
        #expect(Activation.sigmoid(Tensor([0, 100, -100])).scalars == [0.5, 1, 0])
    }

    @Test("softmax and log-softmax over channels equal PyTorch, forward and backward")
    func softmaxMatchesPyTorch() throws {
        for reference in try FixtureCase.all(in: "softmax.safetensors") {
            let x = try reference.tensor("input"), dy = try reference.tensor("grad_output")
            let logarithmic = reference.flag("log")
            let y = logarithmic ? ChannelSoftmax.logSoftmax(x) : ChannelSoftmax.softmax(x)
            expectMatchesReference(y, try reference.tensor("output"), "\(reference) output")
            let dx = logarithmic
                ? ChannelSoftmax.logSoftmaxBackward(gradientOfOutput: dy, output: y)
                : ChannelSoftmax.softmaxBackward(gradientOfOutput: dy, output: y)
            expectMatchesReference(dx, try reference.tensor("grad_input"), "\(reference) grad_input")
        }
    }

    @Test("softmax backward matches finite differences")
    func softmaxFiniteDifferences() {
        var generator = RandomGenerator(seed: 8)
        let x = Tensor.normal([2, 3, 2, 2], using: &generator)
        let probe = Tensor.normal(x.shape, using: &generator)
        let dx = ChannelSoftmax.softmaxBackward(gradientOfOutput: probe, output: ChannelSoftmax.softmax(x))
        let logDx = ChannelSoftmax.logSoftmaxBackward(gradientOfOutput: probe, output: ChannelSoftmax.logSoftmax(x))
        let failures = [
            GradientCheck.mismatch(analytic: dx, at: x) { GradientCheck.weightedSum(ChannelSoftmax.softmax($0), probe) },
            GradientCheck.mismatch(analytic: logDx, at: x) { GradientCheck.weightedSum(ChannelSoftmax.logSoftmax($0), probe) },
        ]
        #expect(failures.allSatisfy { $0 == nil }, "\(failures)")
    }
}
